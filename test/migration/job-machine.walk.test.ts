/**
 * Every state the job's machine can reach from its entries under every outside event, with its invariants
 * checked on every transition; and docs/job-machine.md, drawn from the same tables and walk.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { transition, type Verdict } from '../../src/migration/job-machine.js';
import type { MigrationPlan } from '../../src/policy/plan.js';
import { DOC_PATH, machineDoc, rowsNeverTaken } from '../support/job-diagram.js';
import { at, prepared, run, started, tick } from '../support/job-machine.js';
import { check, type Walk, walkMachine } from '../support/job-walk.js';

describe('job-machine: every reachable state', () => {
  // Walked inside the tests (once, by whichever runs first), so that a mutation run counts it as theirs.
  let walked: Walk | undefined;
  const walk = () => {
    walked ??= walkMachine();
    return walked;
  };

  it('keeps every invariant on every transition it reaches', { timeout: 300_000 }, () => {
    const broken = walk().violations.map((v) => `${v.invariant}: ${v.event.type} in ${v.from.phase}`);
    expect(broken).toEqual([]);
    // A walk that stopped early would check little.
    expect(walk().states).toBeGreaterThan(4000);
    expect(walk().depth).toBeGreaterThan(10);
  });

  it('takes every row of the table on some path', { timeout: 300_000 }, () => {
    expect(rowsNeverTaken(walk())).toEqual([]);
  });

  it('docs/job-machine.md is what the tables and the walk give (npm run docs:machine)', {
    timeout: 300_000,
  }, () => {
    expect(readFileSync(DOC_PATH, 'utf8')).toBe(machineDoc(walk()));
  });
});

describe('job-machine: the walk’s checks', () => {
  const precopy = run(started(), { type: 'run' }, prepared(true), tick(1, 'running', 'running')).state;
  const post = transition(precopy, tick(2, 'running', 'post-copy')).state;
  const done = run(started(), { type: 'abort', reason: 'a' }).state;

  it('pass a transition of the table', () => {
    const event = at({ type: 'force-complete', reason: 'f' });
    const { state, actions } = transition(precopy, event);
    expect(check(precopy, event, state, actions)).toEqual([]);
  });

  it('catch a second outcome, and anything but an answer after the end', () => {
    const event = at({ type: 'force-complete', reason: 'f' });
    const finish = {
      type: 'finish' as const,
      verdict: {
        status: 'cancelled' as const,
        guest: 'source' as const,
        error: new Error('c'),
        postCopyFailed: false,
      },
    };
    expect(check(done, event, done, [finish])).toEqual([
      'the outcome is produced exactly once',
      'after the end, only answers',
      'every request is answered',
    ]);
  });

  it('catch a request left unanswered, or answered twice', () => {
    const event = at({ type: 'force-complete', reason: 'f' });
    expect(check(done, event, done, [])).toEqual(['every request is answered']);
    const twice = { type: 'answer-force-complete' as const, count: 2, result: 'none' as const };
    expect(check(done, event, done, [twice])).toEqual(['every request is answered']);
  });

  it('catch an outcome that misplaces the guest', () => {
    const event = at({ type: 'migrate-returned' });
    const ending = transition(precopy, event).state;
    const concluded = at({ type: 'concluded', source: 'gone', stats: undefined });
    const completed = { ...ending, phase: 'completed' as const };
    const plan = ending.prepared?.plan as MigrationPlan;
    const stats = { type: 'completed' as const, raw: {} };
    const finish = (verdict: Verdict) => [{ type: 'finish' as const, verdict }];
    const right: Verdict = { status: 'completed', guest: 'destination', plan, stats, postCopyFailed: false };
    expect(check(ending, concluded, completed, finish(right))).toEqual([]);
    const wrong: Verdict = { ...right, guest: 'source' };
    expect(check(ending, concluded, completed, finish(wrong))).toEqual([
      'the outcome says where the guest is',
    ]);
    // The outcome's type promises stats on completion and an error otherwise: a verdict that breaks it is caught.
    const statsless = { ...right, stats: undefined } as unknown as Verdict;
    expect(check(ending, concluded, completed, finish(statsless))).toEqual([
      'the outcome says where the guest is',
    ]);
    const failed = { ...ending, phase: 'failed' as const };
    const silent = { status: 'failed', guest: 'source', postCopyFailed: false } as unknown as Verdict;
    expect(check(ending, concluded, failed, finish(silent))).toEqual(['the outcome says where the guest is']);
  });

  it('catch a resume or an abort of the source once the guest ran on the destination', () => {
    const event = at({ type: 'abort-accepted' });
    expect(check(post, event, post, [{ type: 'resume' }])).toEqual([
      'the source is never resumed once post-copy started',
    ]);
    expect(check(post, event, post, [{ type: 'abort-job' }])).toEqual([
      'the source is never resumed once post-copy started',
    ]);
  });
});
