/**
 * Replays every recorded workflow history (test/fixtures/histories/<set>/*.json) against the
 * current workflow code: a change that would break running workflows at the next deploy fails
 * here, naming the workflow and the history. Needs no server.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { repoRoot } from '../../dev/stack';
import { bundleWorkflows } from '../../worker/workflow-bundle';

const root = repoRoot();
const HISTORIES = path.join(root, 'test', 'fixtures', 'histories');

interface Recorded {
  file: string;
  workflowType: string;
  history: ReturnType<typeof historyFromJSON>;
}

function recordedHistories(): Recorded[] {
  return readdirSync(HISTORIES, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const history = historyFromJSON(JSON.parse(readFileSync(path.join(HISTORIES, f), 'utf8')));
      const workflowType =
        history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '(unknown)';
      return { file: path.relative(root, path.join(HISTORIES, f)), workflowType, history };
    });
}

/** Replays the histories; one line per history that does not replay. */
async function replayFailures(bundle: WorkflowBundleOption, histories: Recorded[]): Promise<string[]> {
  const byFile = new Map(histories.map((h) => [h.file, h]));
  const failures: string[] = [];
  const results = Worker.runReplayHistories(
    { workflowBundle: bundle, replayName: 'recorded histories' },
    histories.map(({ file, history }) => ({ workflowId: file, history })),
  );
  for await (const { workflowId: file, error } of results) {
    if (!error) continue;
    const { workflowType } = byFile.get(file)!;
    const kind = error instanceof DeterminismViolationError ? 'non-deterministic' : 'replay failed';
    failures.push(`${workflowType} from ${file}: ${kind}: ${error.message}`);
  }
  return failures;
}

let bundle: WorkflowBundleOption;
before(async () => {
  // The replay that must fail would log its non-determinism as a warning: keep the output clean.
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
  });
  const prebuilt = process.env.REMOTE_COMPLETION_TEST_BUNDLE;
  bundle = prebuilt
    ? { codePath: prebuilt }
    : { code: await bundleWorkflows(require.resolve('../../dev/workflows')) };
});

test('every recorded history replays with the current workflow code', async () => {
  const histories = recordedHistories();
  assert.ok(histories.length >= 13, `recorded histories found: ${histories.length}`);
  assert.ok(histories.some((h) => h.workflowType === 'releaseWithApproval'));
  const failures = await replayFailures(bundle, histories);
  assert.equal(failures.length, 0, `\n${failures.join('\n')}`);
});

test('a history that no longer matches the code fails, naming the workflow and the file', async () => {
  const [recorded] = recordedHistories().filter((h) => h.file.endsWith('complete-by-email.json'));
  assert.ok(recorded);
  // Another workflow's code for this history: its commands cannot match.
  recorded.history.events![0]!.workflowExecutionStartedEventAttributes!.workflowType!.name = 'mailboxSync';
  const failures = await replayFailures(bundle, [{ ...recorded, workflowType: 'mailboxSync' }]);
  assert.equal(failures.length, 1);
  assert.match(
    failures[0]!,
    /^mailboxSync from test\/fixtures\/histories\/.*complete-by-email\.json: non-deterministic/,
  );
});
