/** The dependency scan of a build workspace, on real files: jars (real zips and not), lockfiles, go.sum. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  goSumDependencies,
  jarNameVersion,
  lockfileDependencies,
  scanDependencies,
} from '../../src/engine/builds/dependency-scan.js';
import { makeJar } from '../builds/support.js';

describe('dependency scan', () => {
  const dir = mkdtempSync(join(tmpdir(), 'phantom-scan-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads name and version from a jar file name', () => {
    expect(jarNameVersion('log4j-core-2.14.1.jar')).toEqual({
      name: 'log4j-core',
      version: '2.14.1',
    });
    expect(jarNameVersion('spring-boot-starter-web-3.2.0-SNAPSHOT.jar')).toEqual({
      name: 'spring-boot-starter-web',
      version: '3.2.0-SNAPSHOT',
    });
    expect(jarNameVersion('app.jar')).toBeNull();
  });

  it('reads lockfile v3 packages (nested and scoped) and v1 dependencies', () => {
    const v3 = JSON.stringify({
      lockfileVersion: 3,
      packages: {
        '': { name: 'root', version: '1.0.0' },
        'node_modules/a': { version: '1.0.0' },
        'node_modules/a/node_modules/@s/b': { version: '2.0.0' },
        'node_modules/linked': { link: true, version: '9' },
      },
    });
    expect(lockfileDependencies(v3)).toEqual([
      { name: 'a', version: '1.0.0' },
      { name: '@s/b', version: '2.0.0' },
    ]);
    const v1 = JSON.stringify({
      lockfileVersion: 1,
      dependencies: { x: { version: '1.2.3', dependencies: { y: { version: '0.1.0' } } } },
    });
    expect(lockfileDependencies(v1)).toEqual([
      { name: 'x', version: '1.2.3' },
      { name: 'y', version: '0.1.0' },
    ]);
    expect(lockfileDependencies('not json')).toEqual([]);
  });

  it('folds go.sum /go.mod lines into their module version', () => {
    const sum =
      'golang.org/x/text v0.3.7 h1:abc=\ngolang.org/x/text v0.3.7/go.mod h1:def=\ngithub.com/pkg/errors v0.9.1/go.mod h1:x=\n';
    expect(goSumDependencies(sum)).toEqual([
      { name: 'golang.org/x/text', version: 'v0.3.7' },
      { name: 'github.com/pkg/errors', version: 'v0.9.1' },
    ]);
  });

  it('scans a workspace: pom.properties inside a real jar wins over its file name; shaded jars list each; node_modules and .git are skipped', async () => {
    const ws = join(dir, 'ws');
    makeJar(ws, 'lib/log4j-core-2.14.1.jar', [
      { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-core', version: '2.14.1' },
    ]);
    makeJar(ws, 'lib/renamed.jar', [
      { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-core', version: '2.9.0' },
    ]);
    makeJar(ws, 'target/fat-1.0.jar', [
      { groupId: 'com.x', artifactId: 'fat', version: '1.0' },
      { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-api', version: '2.14.0' },
    ]);
    mkdirSync(join(ws, 'plain'), { recursive: true });
    writeFileSync(join(ws, 'plain', 'guava-31.1-jre.jar'), 'not a zip');
    writeFileSync(
      join(ws, 'package-lock.json'),
      JSON.stringify({
        lockfileVersion: 2,
        packages: { 'node_modules/left-pad': { version: '1.3.0' } },
      }),
    );
    mkdirSync(join(ws, 'svc'), { recursive: true });
    writeFileSync(join(ws, 'svc', 'go.sum'), 'github.com/pkg/errors v0.9.1 h1:x=\n');
    mkdirSync(join(ws, 'node_modules', 'x'), { recursive: true });
    writeFileSync(
      join(ws, 'node_modules', 'x', 'package-lock.json'),
      JSON.stringify({
        lockfileVersion: 2,
        packages: { 'node_modules/ignored': { version: '1.0.0' } },
      }),
    );
    mkdirSync(join(ws, '.git'), { recursive: true });
    writeFileSync(join(ws, '.git', 'junit-4.12.jar'), 'x');
    const deps = await scanDependencies(ws);
    expect(deps).toEqual(
      expect.arrayContaining([
        { name: 'log4j-core', version: '2.14.1', path: 'lib/log4j-core-2.14.1.jar' },
        { name: 'log4j-core', version: '2.9.0', path: 'lib/renamed.jar' },
        {
          name: 'fat',
          version: '1.0',
          path: 'target/fat-1.0.jar!/META-INF/maven/com.x/fat/pom.properties',
        },
        {
          name: 'log4j-api',
          version: '2.14.0',
          path: 'target/fat-1.0.jar!/META-INF/maven/org.apache.logging.log4j/log4j-api/pom.properties',
        },
        { name: 'guava', version: '31.1-jre', path: 'plain/guava-31.1-jre.jar' },
        { name: 'left-pad', version: '1.3.0', path: 'package-lock.json' },
        { name: 'github.com/pkg/errors', version: 'v0.9.1', path: 'svc/go.sum' },
      ]),
    );
    expect(deps).toHaveLength(7);
  });
});
