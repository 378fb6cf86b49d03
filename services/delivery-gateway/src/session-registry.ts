import type { Session } from './session.js';

/**
 * The open sessions of a gateway, by user. A user with one device here (the common case) costs one map entry
 * holding the session itself; only users with several devices here get an array (no per-device key string, no
 * `Set` per user: see "Memory per connection" in the README).
 */
export class SessionRegistry {
  private readonly byUser = new Map<string, Session | Session[]>();
  private count = 0;

  /** Open sessions here. */
  get size(): number {
    return this.count;
  }

  /** The open sessions of a user here (a copy: sending may close a session, which edits the user's array). */
  sessionsOf(userId: string): Session[] {
    const sessions = this.byUser.get(userId);
    return sessions === undefined ? [] : Array.isArray(sessions) ? [...sessions] : [sessions];
  }

  /** The open session of (userId, deviceId) here, if any. */
  deviceSession(userId: string, deviceId: string): Session | undefined {
    const sessions = this.byUser.get(userId);
    if (sessions === undefined) return undefined;
    if (!Array.isArray(sessions)) return sessions.deviceId === deviceId ? sessions : undefined;
    return sessions.find((session) => session.deviceId === deviceId);
  }

  /** Every open session here, without a copy (do not close sessions while iterating: see {@link all}). */
  *each(): Generator<Session> {
    for (const sessions of this.byUser.values()) {
      if (Array.isArray(sessions)) yield* sessions;
      else yield sessions;
    }
  }

  /** Every open session here (a copy: closing one while iterating is fine). */
  all(): Session[] {
    return [...this.each()];
  }

  add(session: Session): void {
    const sessions = this.byUser.get(session.userId);
    if (sessions === undefined) this.byUser.set(session.userId, session);
    else if (Array.isArray(sessions)) sessions.push(session);
    else this.byUser.set(session.userId, [sessions, session]);
    this.count++;
  }

  /** Removes a session; a session that is not registered (already removed) is ignored. */
  remove(session: Session): void {
    const sessions = this.byUser.get(session.userId);
    if (sessions === session) {
      this.byUser.delete(session.userId);
    } else if (Array.isArray(sessions)) {
      const index = sessions.indexOf(session);
      if (index < 0) return;
      sessions.splice(index, 1);
      if (sessions.length === 1) this.byUser.set(session.userId, sessions[0]!);
    } else {
      return;
    }
    this.count--;
  }
}
