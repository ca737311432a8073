import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EmailDecision } from '../../workflows/definitions';
import { KEPT_RECORDS, Task, type NewTask, type TaskSnapshot } from '../../workflows/task-state';

const T0 = Date.parse('2026-11-24T09:00:00Z');
const RUN = 'run-1';

function newTask(overrides: Partial<NewTask> = {}): Task {
  return Task.create({
    runId: RUN,
    taskId: 't1',
    title: 'Approve',
    assignees: [{ address: 'Alice@Example.test' }, { address: 'carol@example.test', name: 'Carol' }],
    now: T0,
    ...overrides,
  });
}

function reply(overrides: Partial<EmailDecision> = {}): EmailDecision {
  return {
    action: 'complete',
    runId: RUN,
    sender: 'alice@example.test',
    comment: 'ok',
    messageId: '<r1@x>',
    receivedAt: new Date(T0).toISOString(),
    ...overrides,
  };
}

/** Sends every first request and marks it delivered, as the workflow does after `sendRequest`. */
function deliverAll(task: Task): void {
  for (const a of [...task.assignees]) {
    task.beginDelivery(a.address);
    task.deliverySent(a.address, `<req-${a.address}>`, false, T0);
  }
}

describe('Task: decisions', () => {
  test('the first valid email decision closes the task; later ones are task-closed', () => {
    const task = newTask();
    deliverAll(task);
    const verdict = task.decideByEmail(reply({ sender: 'ALICE@example.test', comment: 'go' }), T0 + 1000);
    assert.deepEqual(verdict, {
      accepted: {
        outcome: 'completed',
        decidedBy: 'alice@example.test',
        decidedAt: new Date(T0 + 1000).toISOString(),
        comment: 'go',
        channel: 'email',
      },
    });
    assert.equal(task.status, 'completed');
    assert.deepEqual(task.decideByEmail(reply({ messageId: '<r2@x>', action: 'fail' }), T0), {
      ignored: 'task-closed',
    });
    assert.equal(task.result?.outcome, 'completed');
  });

  test('email decisions are checked in order: duplicate, task-closed (other run), not-assigned', () => {
    const cases: [string, EmailDecision[], string][] = [
      ['a repeated Message-ID', [reply({ sender: 'bob@x.test' }), reply()], 'duplicate'],
      ['a reply to an earlier task with the same id', [reply({ runId: 'run-0' })], 'task-closed'],
      ['a sender who is not assigned', [reply({ sender: 'bob@other.test' })], 'not-assigned'],
    ];
    for (const [name, decisions, reason] of cases) {
      const task = newTask();
      const verdicts = decisions.map((d) => task.decideByEmail(d, T0));
      assert.deepEqual(verdicts.at(-1), { ignored: reason }, name);
      assert.equal(task.isClosed, false, name);
      assert.equal(task.view().ignored.at(-1)?.reason, reason, name);
    }
  });

  test('an API decision closes the task; the validator then refuses the next one', () => {
    const task = newTask();
    const result = task.decideByApi({ action: 'fail', by: 'ops', comment: 'backup missing' }, T0);
    assert.deepEqual(result, {
      outcome: 'failed',
      decidedBy: 'ops',
      decidedAt: new Date(T0).toISOString(),
      comment: 'backup missing',
      channel: 'api',
    });
    const problems: [Parameters<Task['apiDecisionProblem']>[0], RegExp][] = [
      [{ action: 'complete', by: 'x' }, /task t1 is already failed/],
      [{ action: 'maybe' as 'complete', by: 'x' }, /unknown action maybe/],
      [{ action: 'complete', by: ' ' }, /needs "by"/],
    ];
    for (const [decision, message] of problems)
      assert.match(task.apiDecisionProblem(decision) ?? '', message);
    assert.throws(() => task.decideByApi({ action: 'complete', by: 'x' }, T0), /already failed/);
  });

  test('cancel and time-out close an open task and leave a decided one as it is', () => {
    assert.equal(newTask().cancel(T0).outcome, 'cancelled');
    assert.equal(newTask().timeOut(T0).outcome, 'timed-out');
    const decided = newTask();
    decided.decideByApi({ action: 'complete', by: 'ops' }, T0);
    assert.equal(decided.cancel(T0 + 1).outcome, 'completed');
    assert.equal(decided.timeOut(T0 + 1).outcome, 'completed');
    assert.equal(decided.status, 'completed');
  });
});

describe('Task: assignees and deliveries', () => {
  test('status is sending until every first request ended, delivered or not', () => {
    const task = newTask();
    const keys = task.assignees.map((a) => task.beginDelivery(a.address));
    assert.deepEqual(keys, ['alice@example.test#0', 'carol@example.test#0']);
    task.deliverySent('alice@example.test', '<m1>', false, T0);
    assert.equal(task.status, 'sending');
    task.deliveryFailed('carol@example.test', '550 no such user');
    assert.equal(task.status, 'waiting');
    assert.deepEqual(
      task.assignees.map((a) => [a.address, a.delivery, a.deliveryError]),
      [
        ['alice@example.test', 'sent', undefined],
        ['carol@example.test', 'failed', '550 no such user'],
      ],
    );
    assert.equal(task.deliveriesInFlight, 0);
  });

  test('reassign keeps the kept assignees delivery state and returns only the new ones', () => {
    const task = newTask();
    deliverAll(task);
    const added = task.reassign([{ address: 'CAROL@example.test' }, { address: 'dave@example.test' }]);
    assert.deepEqual(
      added.map((a) => a.address),
      ['dave@example.test'],
    );
    assert.deepEqual(
      task.assignees.map((a) => [a.address, a.delivery]),
      [
        ['carol@example.test', 'sent'],
        ['dave@example.test', 'pending'],
      ],
    );
    assert.deepEqual(task.decideByEmail(reply(), T0), { ignored: 'not-assigned' }, 'alice was removed');
  });

  test('reassign is refused on a closed task and with nobody', () => {
    const task = newTask();
    assert.match(task.reassignProblem([]) ?? '', /at least one assignee/);
    task.cancel(T0);
    assert.match(task.reassignProblem([{ address: 'dave@example.test' }]) ?? '', /already cancelled/);
    assert.throws(() => task.reassign([{ address: 'dave@example.test' }]), /already cancelled/);
  });

  test('a delivery that ends after its assignee was removed changes nothing', () => {
    const task = newTask();
    task.beginDelivery('alice@example.test');
    task.reassign([{ address: 'carol@example.test' }]);
    task.deliverySent('alice@example.test', '<late>', false, T0);
    assert.equal(task.deliveriesInFlight, 0);
    assert.deepEqual(
      task.assignees.map((a) => a.address),
      ['carol@example.test'],
    );
  });

  test('a refused reminder leaves the delivered request standing', () => {
    const task = newTask();
    deliverAll(task);
    task.beginDelivery('alice@example.test');
    task.deliveryFailed('alice@example.test', '552 mailbox full');
    assert.equal(task.assignees[0]!.delivery, 'sent');
  });

  test('each request to an address gets its own key, across reassigns', () => {
    const task = newTask({ assignees: [{ address: 'alice@example.test' }] });
    const first = task.beginDelivery('alice@example.test');
    task.deliverySent('alice@example.test', '<1>', false, T0);
    task.reassign([{ address: 'carol@example.test' }]);
    task.reassign([{ address: 'alice@example.test' }]);
    const second = task.beginDelivery('alice@example.test');
    assert.deepEqual([first, second], ['alice@example.test#0', 'alice@example.test#1']);
  });
});

describe('Task: time', () => {
  test('reminders fall due every reminderMs and go to delivered assignees with no send under way', () => {
    const task = newTask({ reminderMs: 1000, timeoutMs: 5000 });
    assert.equal(task.nextWakeAt(), T0 + 1000);
    deliverAll(task);
    task.beginDelivery('carol@example.test'); // still sending carol's last one
    assert.equal(task.reminderDue(T0 + 999), false);
    assert.equal(task.reminderDue(T0 + 1000), true);
    assert.deepEqual(
      task.reminderRound(T0 + 1000).map((a) => a.address),
      ['alice@example.test'],
    );
    assert.equal(task.reminderDue(T0 + 1000), false);
    assert.equal(task.nextWakeAt(), T0 + 2000);
    assert.equal(task.reminderRoundsThisRun, 1);
    task.deliverySent('alice@example.test', '<rem>', true, T0 + 1001);
    assert.equal(task.assignees[0]!.remindersSent, 1);
  });

  test('the deadline wins over a reminder due at the same time', () => {
    const task = newTask({ reminderMs: 5000, timeoutMs: 5000 });
    assert.equal(task.nextWakeAt(), T0 + 5000);
    assert.equal(task.deadlinePassed(T0 + 4999), false);
    assert.equal(task.deadlinePassed(T0 + 5000), true);
    assert.equal(task.timeOut(T0 + 5000).outcome, 'timed-out');
    assert.equal(task.reminderDue(T0 + 5000), false, 'no reminder for a closed task');
  });

  test('a task without timeout or reminders never wakes by itself', () => {
    assert.equal(newTask().nextWakeAt(), undefined);
  });
});

describe('Task: continue-as-new', () => {
  test('a resumed task keeps its run id, assignees, request keys, deadline and reminder clock', () => {
    const task = newTask({ reminderMs: 1000, timeoutMs: 60_000 });
    deliverAll(task);
    task.reminderRound(T0 + 1000);
    task.decideByEmail(reply({ sender: 'bob@other.test', messageId: '<seen@x>' }), T0 + 1100);
    // Through JSON, as Temporal carries it.
    const next = Task.resume(JSON.parse(JSON.stringify(task.snapshot())) as TaskSnapshot, 1000);
    assert.equal(next.runId, RUN);
    assert.equal(next.reminderRoundsThisRun, 0);
    assert.equal(next.nextWakeAt(), T0 + 2000);
    assert.equal(next.deadline, T0 + 60_000);
    assert.equal(next.view().runs, 2);
    assert.equal(next.beginDelivery('alice@example.test'), 'alice@example.test#1');
    assert.deepEqual(next.decideByEmail(reply({ messageId: '<seen@x>' }), T0), { ignored: 'duplicate' });
    const accepted = next.decideByEmail(reply({ messageId: '<new@x>' }), T0 + 2500);
    assert.ok('accepted' in accepted && accepted.accepted.decidedBy === 'alice@example.test');
  });

  test('no snapshot while a delivery is under way', () => {
    const task = newTask();
    task.beginDelivery('alice@example.test');
    assert.throws(() => task.snapshot(), /between deliveries/);
  });

  test(`seen Message-IDs and ignored decisions keep the latest ${KEPT_RECORDS}, with a total count`, () => {
    const task = newTask();
    const n = KEPT_RECORDS * 3;
    for (let i = 0; i < n; i++)
      task.decideByEmail(reply({ sender: 'bob@other.test', messageId: `<m${i}@x>` }), T0);
    const view = task.view();
    assert.equal(view.ignored.length, KEPT_RECORDS);
    assert.equal(view.ignoredCount, n);
    assert.equal(view.ignored[0]!.messageId, `<m${n - KEPT_RECORDS}@x>`);
    const snapshot = task.snapshot();
    assert.equal(snapshot.seenMessageIds.length, KEPT_RECORDS);
    assert.ok(JSON.stringify(snapshot).length < 30_000, 'the carried state stays small');
    assert.deepEqual(task.decideByEmail(reply({ messageId: `<m${n - 1}@x>` }), T0), { ignored: 'duplicate' });
  });
});
