import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { availableCores } from '../src/cores';

/** A cgroup file system of the given files. */
const files =
  (present: Record<string, string>) =>
  (path: string): string | undefined =>
    present[path];

describe('availableCores', () => {
  const cpus = availableParallelism();

  it('is the CPUs the process may run on, where no cgroup holds it to less', () => {
    expect(availableCores(files({}))).toBe(cpus);
    expect(availableCores(files({ '/sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBe(cpus);
    expect(availableCores(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' }))).toBe(cpus);
  });

  it('is the cgroup v2 quota in whole cores, never more than the CPUs, never less than 1', () => {
    expect(availableCores(files({ '/sys/fs/cgroup/cpu.max': '100000 100000\n' }))).toBe(1);
    expect(availableCores(files({ '/sys/fs/cgroup/cpu.max': '150000 100000\n' }))).toBe(1);
    expect(availableCores(files({ '/sys/fs/cgroup/cpu.max': '35000 100000\n' }))).toBe(1);
    expect(availableCores(files({ '/sys/fs/cgroup/cpu.max': `${cpus * 400000} 100000\n` }))).toBe(cpus);
  });

  it('reads cgroup v1 where there is no v2 file', () => {
    expect(availableCores(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '50000\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' }))).toBe(1);
    expect(availableCores(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': `${cpus * 100000}\n`, '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' }))).toBe(
      cpus,
    );
  });

  it('ignores a file that does not say what it should', () => {
    expect(availableCores(files({ '/sys/fs/cgroup/cpu.max': 'garbage' }))).toBe(cpus);
  });
});
