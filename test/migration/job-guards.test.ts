/** The refusals of the job's requests, shared by its methods and its table: abort, pausePostCopy, recover. */
import { describe, expect, it } from 'vitest';
import {
  assertCanAbort,
  type JobState,
  pauseRefusal,
  recoverRefusal,
} from '../../src/migration/job-machine.js';
import { prepared, run, started, tick } from '../support/job-machine.js';

const precopy = (): JobState =>
  run(started(), { type: 'run' }, prepared(), tick(1, 'running', 'running')).state;

describe('the refusals of requests', () => {
  it('guards abort: post-copy, switching and ending refuse it', () => {
    expect(() => assertCanAbort(precopy())).not.toThrow();
    expect(() => assertCanAbort({ ...precopy(), phase: 'switching' })).toThrow(
      expect.objectContaining({ code: 'ABORT_IN_POST_COPY' }),
    );
    expect(() => assertCanAbort({ ...precopy(), phase: 'ending' })).toThrow(
      expect.objectContaining({ code: 'MIGRATION_NOT_ACTIVE' }),
    );
    expect(() => assertCanAbort({ ...precopy(), phase: 'resuming' })).toThrow(
      expect.objectContaining({ code: 'MIGRATION_NOT_ACTIVE' }),
    );
  });

  it('pausePostCopy() only in post-copy, recover() only while recovering, each naming the status', () => {
    const post = { ...precopy(), phase: 'post-copy' as const, status: 'running (post-copy)' as const };
    expect(pauseRefusal(post)).toBeUndefined();
    expect(pauseRefusal(precopy())).toMatchObject({
      code: 'NOT_IN_POST_COPY',
      key: 'status',
      value: 'running',
      message:
        'the migration\'s status is "running": only a migration in post-copy can be paused (pausePostCopy)',
    });
    const recovering = { ...post, phase: 'recovering' as const, status: 'recovering (post-copy)' as const };
    expect(recoverRefusal(recovering)).toBeUndefined();
    expect(recoverRefusal(post)).toMatchObject({
      code: 'NOT_RECOVERING',
      key: 'status',
      value: 'running (post-copy)',
      message:
        'the migration\'s status is "running (post-copy)": recover() resumes only a broken or paused post-copy (status "recovering (post-copy)")',
    });
  });
});
