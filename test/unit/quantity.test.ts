import { describe, expect, it } from 'vitest';
import { parseQuantity } from '../../src/domain/apps/app.validation.js';

describe('Kubernetes quantities', () => {
  it.each([
    ['250m', 0.25],
    ['1.5', 1.5],
    ['2', 2],
    ['.5', 0.5],
    ['256Mi', 256 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1e3', 1000],
    ['1E3', 1000],
    ['2Ei', 2 * 2 ** 60],
    ['3E', 3e18],
    ['129M', 129e6],
    ['1k', 1000],
    ['1e-3', 0.001],
  ])('%s = %d', (q, v) => {
    expect(parseQuantity(q)).toBeCloseTo(v, 9);
  });
  it.each(['', 'lots', '12Qi', '1.2.3', '-1', '1 Gi', 'Mi'])('%j is not a quantity', (q) => {
    expect(parseQuantity(q)).toBeNull();
  });
});
