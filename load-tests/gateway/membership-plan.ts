/**
 * Who is in which chat in a density run with memberships, as arithmetic every generator recomputes (no
 * lists over IPC). Users come in blocks of `groupSize`: block `b` is users `b·groupSize … b·groupSize +
 * groupSize − 1`, all members of group `b` (created by the block's first user), and each user is also in
 * `directPerUser` direct chats with users of the same block: user `j` of a block (0-based) with
 * `(j ± k) mod groupSize` for `k = 1 … directPerUser / 2`, the chat with `j + k` created by `j`.
 *
 * Keeping every chat inside a block lets the setup create and settle one block at a time (its members'
 * sockets only), so the gateway never holds more than a few blocks of setup sockets at once.
 */
import { directChatId } from '@chatmesh/protocol';

export interface MembershipParams {
  /** User and group ids start with this (`<prefix>u<n>`, `<prefix>g<b>`). */
  readonly prefix: string;
  /** Members of each group: one group per block; ≥ 2. */
  readonly groupSize: number;
  /** Direct chats of each user: even, and below `groupSize`. */
  readonly directPerUser: number;
}

/** A chat a user creates in the setup: its id, kind and the other members. */
export interface PlannedChat {
  readonly chatId: string;
  readonly kind: 'direct' | 'group';
  readonly members: readonly string[];
}

export interface MembershipPlan {
  readonly params: MembershipParams;
  userId(user: number): string;
  blockOf(user: number): number;
  groupId(block: number): string;
  /** The chats `user` creates (the block's first user also creates the group, first). */
  chatsCreatedBy(user: number): readonly PlannedChat[];
  /** Ids of the chats of `user` created by someone else: the `chatCreated` frames its device must see in the setup. */
  chatsCreatedByOthers(user: number): readonly string[];
  /** Chats `user` is a member of. */
  chatsOf(user: number): number;
  /** Chats of a whole block (one group, `groupSize · directPerUser / 2` direct ones). */
  chatsPerBlock(): number;
}

/**
 * @throws RangeError when the sizes are out of range (group size < 2, odd direct chat count, or more
 *   direct chats than the block has other users)
 */
export function createMembershipPlan(params: MembershipParams): MembershipPlan {
  const { prefix, groupSize, directPerUser } = params;
  if (!Number.isInteger(groupSize) || groupSize < 2) throw new RangeError('groupSize must be an integer ≥ 2');
  if (!Number.isInteger(directPerUser) || directPerUser < 0 || directPerUser % 2 !== 0)
    throw new RangeError('directPerUser must be an even integer ≥ 0');
  if (directPerUser > groupSize - 1) throw new RangeError('directPerUser must be below groupSize');
  // With k up to directPerUser/2 < groupSize/2, j+k and j-k never name the same partner twice.
  const half = directPerUser / 2;
  const userId = (user: number): string => `${prefix}u${user}`;
  const blockOf = (user: number): number => Math.floor(user / groupSize);
  const groupId = (block: number): string => `${prefix}g${block}`;
  return {
    params,
    userId,
    blockOf,
    groupId,
    chatsCreatedBy(user) {
      const block = blockOf(user);
      const base = block * groupSize;
      const j = user - base;
      const chats: PlannedChat[] = [];
      if (j === 0) {
        const members = Array.from({ length: groupSize - 1 }, (_, i) => userId(base + 1 + i));
        chats.push({ chatId: groupId(block), kind: 'group', members });
      }
      for (let k = 1; k <= half; k++) {
        const partner = userId(base + ((j + k) % groupSize));
        chats.push({ chatId: directChatId(userId(user), partner), kind: 'direct', members: [partner] });
      }
      return chats;
    },
    chatsCreatedByOthers(user) {
      const block = blockOf(user);
      const base = block * groupSize;
      const j = user - base;
      const ids = j === 0 ? [] : [groupId(block)];
      for (let k = 1; k <= half; k++) {
        ids.push(directChatId(userId(base + ((j - k + groupSize) % groupSize)), userId(user)));
      }
      return ids;
    },
    chatsOf: () => 1 + directPerUser,
    chatsPerBlock: () => 1 + groupSize * half,
  };
}
