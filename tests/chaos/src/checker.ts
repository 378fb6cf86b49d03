/**
 * The Jepsen-style checker of a chaos run: a pure function of the run's history (what every sender was
 * acknowledged, what every device was shown, who is in which chat, when each fault ran). It knows nothing of
 * processes or sockets, so it is tested on hand-written histories.
 */

/** One send as its sender saw it. */
export interface SendRecord {
  readonly senderUserId: string;
  readonly senderDeviceId: string;
  readonly chatId: string;
  readonly clientMessageId: string;
  readonly sentAtMs: number;
  /** The server's acknowledgement: the stored seq, and when it reached the sender. */
  readonly ack?: { readonly seq: number; readonly atMs: number };
  /** The code of a final refusal or of the SDK giving up (not acknowledged, so not owed to anyone). */
  readonly failedCode?: string;
}

/** One message the SDK handed to the application of a device. */
export interface DeliveryRecord {
  readonly userId: string;
  readonly deviceId: string;
  readonly chatId: string;
  readonly seq: number;
  readonly clientMessageId: string;
  readonly senderUserId: string;
  readonly atMs: number;
}

/** A device whose whole received stream is in the history, with the windows it was deliberately offline. */
export interface DeviceRecord {
  readonly userId: string;
  readonly deviceId: string;
  readonly offline: ReadonlyArray<{ readonly startMs: number; readonly endMs: number }>;
}

/** One fault of the schedule: it started at `startMs` and the system was whole again (as far as the runner could make it) at `endMs`. */
export interface FaultWindow {
  readonly label: string;
  readonly startMs: number;
  readonly endMs: number;
}

export interface ChaosHistory {
  /** Chat id → its members (user ids); chats do not change membership during a run. */
  readonly chats: ReadonlyMap<string, readonly string[]>;
  readonly devices: readonly DeviceRecord[];
  readonly sends: readonly SendRecord[];
  readonly deliveries: readonly DeliveryRecord[];
  readonly faults: readonly FaultWindow[];
}

export interface LostMessage {
  readonly chatId: string;
  readonly seq: number;
  readonly clientMessageId: string;
  readonly device: string;
}
export interface DuplicateShown {
  readonly device: string;
  readonly chatId: string;
  /** `same-seq`: the same entry shown twice; `stored-twice`: one client message id shown at two seqs. */
  readonly kind: 'same-seq' | 'stored-twice';
  readonly clientMessageId: string;
  readonly seqs: readonly number[];
}
export interface OrderViolation {
  readonly device: string;
  readonly chatId: string;
  readonly seq: number;
  /** The highest seq the device had already been shown in that chat. */
  readonly after: number;
}
export interface LeakedMessage {
  readonly device: string;
  readonly chatId: string;
  readonly seq: number;
}
/** An acknowledgement whose seq a device was shown with another message (the ack named the wrong row). */
export interface AckMismatch {
  readonly chatId: string;
  readonly seq: number;
  readonly ackedClientMessageId: string;
  readonly shownClientMessageId: string;
  readonly device: string;
}
export interface FaultRecovery {
  readonly label: string;
  readonly durationMs: number;
  /** Fault end → the first message shown to any device after it (null: none). */
  readonly firstDeliveryMs: number | null;
  /** Fault end → every device that was online (not deliberately offline) had been shown a message again. */
  readonly allDevicesDeliveringMs: number | null;
  /** Fault end → every send in flight at the fault's end (from online devices) was acknowledged (null: some never were). */
  readonly inFlightAckedMs: number | null;
  /** Sends that were in flight at the fault's end. */
  readonly inFlightAtEnd: number;
}

export interface ChaosReport {
  readonly sends: number;
  readonly acknowledged: number;
  readonly failed: number;
  readonly unanswered: number;
  readonly delivered: number;
  readonly lost: readonly LostMessage[];
  readonly duplicates: readonly DuplicateShown[];
  readonly reordered: readonly OrderViolation[];
  readonly leaked: readonly LeakedMessage[];
  readonly ackMismatches: readonly AckMismatch[];
  readonly recovery: readonly FaultRecovery[];
}

const deviceKey = (userId: string, deviceId: string): string => `${userId}/${deviceId}`;

/**
 * Checks a history:
 * - **lost**: an acknowledged message (chat, acked seq) that some device of another member never showed;
 * - **duplicates**: a device shown the same (chat, seq) twice, or one sender's client message id at two seqs
 *   (stored twice);
 * - **reordered**: a device shown a chat's seq below one it had already shown in that chat;
 * - **leaked**: a device shown a message of a chat its user is not a member of;
 * - **ackMismatches**: a device shown another message at the seq an acknowledgement named;
 * - **recovery** per fault (see {@link FaultRecovery}).
 * A device's own echoes are checked for duplicates, order and leaks, but are not owed.
 */
export function checkHistory(history: ChaosHistory): ChaosReport {
  const duplicates: DuplicateShown[] = [];
  const reordered: OrderViolation[] = [];
  const leaked: LeakedMessage[] = [];
  // device → chat → seq → client message id
  const shown = new Map<string, Map<string, Map<number, string>>>();
  // device → chat → highest seq shown
  const highest = new Map<string, Map<string, number>>();
  // device → chat → sender/clientMessageId → first seq
  const byClientId = new Map<string, Map<string, Map<string, number>>>();

  for (const d of history.deliveries) {
    const device = deviceKey(d.userId, d.deviceId);
    const members = history.chats.get(d.chatId);
    if (members === undefined || !members.includes(d.userId)) {
      leaked.push({ device, chatId: d.chatId, seq: d.seq });
    }
    const chatShown = mapIn(mapIn(shown, device), d.chatId);
    if (chatShown.has(d.seq)) {
      duplicates.push({
        device,
        chatId: d.chatId,
        kind: 'same-seq',
        clientMessageId: d.clientMessageId,
        seqs: [d.seq, d.seq],
      });
      continue;
    }
    chatShown.set(d.seq, d.clientMessageId);
    const ids = mapIn(mapIn(byClientId, device), d.chatId);
    const idKey = `${d.senderUserId}\u0000${d.clientMessageId}`;
    const earlier = ids.get(idKey);
    if (earlier !== undefined) {
      duplicates.push({
        device,
        chatId: d.chatId,
        kind: 'stored-twice',
        clientMessageId: d.clientMessageId,
        seqs: [earlier, d.seq],
      });
    } else {
      ids.set(idKey, d.seq);
    }
    const tops = mapIn(highest, device);
    const top = tops.get(d.chatId);
    if (top !== undefined && d.seq < top) reordered.push({ device, chatId: d.chatId, seq: d.seq, after: top });
    else tops.set(d.chatId, d.seq);
  }

  const lost: LostMessage[] = [];
  const ackMismatches: AckMismatch[] = [];
  let acknowledged = 0;
  let failed = 0;
  for (const s of history.sends) {
    if (s.failedCode !== undefined) failed += 1;
    if (s.ack === undefined) continue;
    acknowledged += 1;
    const members = history.chats.get(s.chatId) ?? [];
    for (const device of history.devices) {
      if (!members.includes(device.userId)) continue;
      if (device.userId === s.senderUserId && device.deviceId === s.senderDeviceId) continue;
      const key = deviceKey(device.userId, device.deviceId);
      const at = shown.get(key)?.get(s.chatId)?.get(s.ack.seq);
      if (at === undefined)
        lost.push({ chatId: s.chatId, seq: s.ack.seq, clientMessageId: s.clientMessageId, device: key });
      else if (at !== s.clientMessageId) {
        ackMismatches.push({
          chatId: s.chatId,
          seq: s.ack.seq,
          ackedClientMessageId: s.clientMessageId,
          shownClientMessageId: at,
          device: key,
        });
      }
    }
  }

  return {
    sends: history.sends.length,
    acknowledged,
    failed,
    unanswered: history.sends.length - acknowledged - failed,
    delivered: history.deliveries.length,
    lost,
    duplicates,
    reordered,
    leaked,
    ackMismatches,
    recovery: history.faults.map((fault) => recoveryAfter(fault, history)),
  };
}

function isOffline(device: DeviceRecord | undefined, atMs: number): boolean {
  return device?.offline.some((w) => w.startMs <= atMs && atMs < w.endMs) ?? false;
}

function recoveryAfter(fault: FaultWindow, history: ChaosHistory): FaultRecovery {
  const end = fault.endMs;
  const devices = new Map(history.devices.map((d) => [deviceKey(d.userId, d.deviceId), d]));
  let firstDelivery: number | null = null;
  const firstPerDevice = new Map<string, number>();
  for (const d of history.deliveries) {
    if (d.atMs < end) continue;
    if (firstDelivery === null || d.atMs < firstDelivery) firstDelivery = d.atMs;
    const key = deviceKey(d.userId, d.deviceId);
    const seen = firstPerDevice.get(key);
    if (seen === undefined || d.atMs < seen) firstPerDevice.set(key, d.atMs);
  }
  // Devices online at the fault's end that stayed online until they were shown something (a device that went
  // offline on purpose first says nothing about the fault).
  let allDevices: number | null = 0;
  for (const [key, device] of devices) {
    if (isOffline(device, end)) continue;
    const first = firstPerDevice.get(key);
    const wentOffline = device.offline.find((w) => w.startMs >= end)?.startMs;
    if (first === undefined) {
      if (wentOffline === undefined) allDevices = null;
      continue;
    }
    if (wentOffline !== undefined && wentOffline < first) continue;
    if (allDevices !== null) allDevices = Math.max(allDevices, first - end);
  }
  const inFlight = history.sends.filter(
    (s) =>
      s.sentAtMs <= end &&
      (s.ack === undefined || s.ack.atMs > end) &&
      !isOffline(devices.get(deviceKey(s.senderUserId, s.senderDeviceId)), end),
  );
  let inFlightAcked: number | null = 0;
  for (const s of inFlight) {
    if (s.ack === undefined) {
      inFlightAcked = null;
      break;
    }
    inFlightAcked = Math.max(inFlightAcked, s.ack.atMs - end);
  }
  return {
    label: fault.label,
    durationMs: fault.endMs - fault.startMs,
    firstDeliveryMs: firstDelivery === null ? null : firstDelivery - end,
    allDevicesDeliveringMs: firstPerDevice.size === 0 ? null : allDevices,
    inFlightAckedMs: inFlightAcked,
    inFlightAtEnd: inFlight.length,
  };
}

/** True when the run kept every promise: nothing lost, shown twice, out of order, leaked or misacknowledged. */
export function isClean(report: ChaosReport): boolean {
  return (
    report.lost.length === 0 &&
    report.duplicates.length === 0 &&
    report.reordered.length === 0 &&
    report.leaked.length === 0 &&
    report.ackMismatches.length === 0
  );
}

function mapIn<K, K2, V>(map: Map<K, Map<K2, V>>, key: K): Map<K2, V> {
  let inner = map.get(key);
  if (inner === undefined) {
    inner = new Map();
    map.set(key, inner);
  }
  return inner;
}
