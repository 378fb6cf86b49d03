import assert from 'node:assert/strict';
import { it } from 'node:test';
import { OffsetCommitter, type CommitOffsets } from '../kafka/offset-committer.js';

type Offsets = Parameters<CommitOffsets>[0];

/** A commit function whose requests the test answers one by one. */
function fakeCoordinator() {
  const requests: Array<{ offsets: Offsets; answer: (error?: Error) => void }> = [];
  const commit: CommitOffsets = (offsets) =>
    new Promise<void>((resolve, reject) =>
      requests.push({ offsets, answer: (error) => (error ? reject(error) : resolve()) }),
    );
  const flat = (index: number): string[] =>
    requests[index]!.offsets.topics.flatMap(({ topic, partitions }) =>
      partitions.map(({ partition, offset }) => `${topic}/${partition}@${offset}`),
    );
  return { requests, commit, flat };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

it('sends one commit at a time, and the next one carries the latest mark of every partition marked meanwhile', async () => {
  const { requests, commit, flat } = fakeCoordinator();
  const committer = new OffsetCommitter({ canCommit: () => true });
  committer.mark(commit, 't', 0, '1');
  assert.equal(requests.length, 1, 'the first mark goes out at once');
  for (let partition = 0; partition < 12; partition++) committer.mark(commit, 't', partition, String(10 + partition));
  committer.mark(commit, 'u', 3, '7');
  committer.mark(commit, 't', 0, '99');
  await tick();
  assert.equal(requests.length, 1, 'nothing more while a commit is in flight');
  requests[0]!.answer();
  await tick();
  assert.equal(requests.length, 2, 'one commit for everything marked while the first was in flight');
  assert.deepEqual(flat(0), ['t/0@1']);
  assert.deepEqual(flat(1), [
    't/0@99',
    ...Array.from({ length: 11 }, (_, index) => `t/${index + 1}@${11 + index}`),
    'u/3@7',
  ]);
  requests[1]!.answer();
  await committer.flush();
  assert.equal(requests.length, 2);
});

it('flush() waits for the marks made before it, not for later ones', async () => {
  const { requests, commit } = fakeCoordinator();
  const committer = new OffsetCommitter({ canCommit: () => true });
  assert.equal(await Promise.race([committer.flush().then(() => 'flushed'), tick()]), 'flushed', 'nothing to wait for');
  committer.mark(commit, 't', 0, '1');
  let flushed = false;
  const flushing = committer.flush().then(() => (flushed = true));
  await tick();
  assert.equal(flushed, false, 'the commit is still in flight');
  committer.mark(commit, 't', 1, '5');
  requests[0]!.answer();
  await flushing;
  assert.equal(requests.length, 2, 'the later mark goes out on its own');
  let laterFlushed = false;
  const later = committer.flush().then(() => (laterFlushed = true));
  await tick();
  assert.equal(laterFlushed, false);
  requests[1]!.answer();
  await later;
});

it('reports a failed commit once, does not retry it, and commits nothing once the member crashed', async () => {
  const { requests, commit } = fakeCoordinator();
  let crashed = false;
  const committer = new OffsetCommitter({ canCommit: () => !crashed });
  committer.mark(commit, 't', 0, '1');
  const refused = Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });
  requests[0]!.answer(refused);
  await committer.flush();
  assert.equal(committer.takeFailure(), refused);
  assert.equal(committer.takeFailure(), undefined, 'reported once');
  assert.equal(requests.length, 1, 'not retried');

  committer.mark(commit, 't', 0, '2');
  committer.mark(commit, 't', 1, '3');
  crashed = true;
  requests[1]!.answer();
  await committer.flush();
  assert.equal(requests.length, 2, 'the mark made while a commit was in flight is dropped after the crash');
  committer.mark(commit, 't', 0, '4');
  await committer.flush();
  assert.equal(requests.length, 2, 'a crashed member never commits again');
});

it('discardPending() (a rejoin) drops unsent marks and the failure of a request of the old generation', async () => {
  const { requests, commit, flat } = fakeCoordinator();
  const committer = new OffsetCommitter({ canCommit: () => true });
  committer.mark(commit, 't', 0, '1');
  committer.mark(commit, 't', 1, '8');
  const flushing = committer.flush();
  committer.discardPending();
  requests[0]!.answer(Object.assign(new Error('old generation'), { type: 'ILLEGAL_GENERATION' }));
  await flushing;
  assert.equal(requests.length, 1, 't/1@8 was never sent');
  assert.equal(committer.takeFailure(), undefined, 'a failure from before the rejoin is not thrown after it');
  committer.mark(commit, 't', 2, '3');
  assert.deepEqual(flat(1), ['t/2@3']);
  requests[1]!.answer();
  await committer.flush();
});
