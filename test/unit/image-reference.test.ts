import { describe, expect, it } from 'vitest';
import { imageReferenceProblem, isValidImage } from '../../src/domain/shared/image-reference.js';

describe('image references (the kubelet grammar)', () => {
  it.each([
    'nginx',
    'nginx:1.25',
    'library/nginx:latest',
    'registry.local/shop:1.0',
    'registry.local:5000/team/shop-api:7-0123456',
    'localhost/app:dev',
    'localhost:5000/app',
    '[::1]:5000/app:1',
    'ghcr.io/org/my_app__x.y:V1.2_rc-3',
    `shop@sha256:${'a'.repeat(64)}`,
    `shop@sha512:${'f'.repeat(128)}`,
    `registry.local/shop:1@sha256:${'0'.repeat(64)}`,
    // An upper-case first component is a registry host, as in distribution/reference.
    'MyRegistry/app:1',
  ])('accepts %s', (image) => {
    expect(imageReferenceProblem(image)).toBeNull();
  });

  it.each([
    ['', /empty/],
    ['Nginx:1', /lower-case/],
    ['registry.local/Shop:1', /lower-case/],
    ['registry.local/shop:-1', /tag/],
    ['registry.local/shop:', /tag/],
    ['shop:1:2', /lower-case|tag/],
    ['shop@sha256:xyz', /digest/],
    [`shop@sha256:${'a'.repeat(32)}`, /digest/],
    [`shop@sha256:${'A'.repeat(64)}`, /digest/],
    [`shop@md5:${'a'.repeat(32)}`, /digest/],
    ['bad image', /lower-case/],
    ['registry.local//shop', /empty path/],
    ['-shop', /lower-case/],
    ['shop..x', /lower-case/],
    ['reg_istry.local/shop', /registry host/],
    [`x/${'a'.repeat(300)}`, /255/],
  ])('refuses %s', (image, reason) => {
    expect(isValidImage(image)).toBe(false);
    expect(imageReferenceProblem(image)).toMatch(reason);
  });
});
