import type { CallOptions, LibvirtBackend, LibvirtConnection } from '../libvirt/types.js';
import type { CopyPhase } from '../policy/recovery.js';
import { destinationPhase, isNoDomain } from './domain-state.js';

/**
 * The job's own connection to the destination libvirtd, opened only when a post-copy needs it: to ask the
 * destination's libvirt version before a resume, and where the guest's copy is there. A connection that
 * failed is dropped, so the next question opens a new one (the link may be back).
 */
export class DestinationProbe {
  #connection: Promise<LibvirtConnection> | undefined;

  constructor(
    private readonly backend: LibvirtBackend,
    private readonly uri: string,
    private readonly timeoutMs: number,
  ) {}

  /** The destination's libvirt version, encoded (`major * 1e6 + minor * 1e3 + micro`). */
  libVersion(): Promise<number> {
    return this.#ask((c, t) => c.libVersion(t));
  }

  /** The guest's copy on the destination; `unknown` when the destination cannot be asked. */
  async phase(uuid: string): Promise<CopyPhase> {
    try {
      return destinationPhase(
        await this.#ask(async (c, t) => (await c.lookupDomainByUUID(uuid, t)).state(t)),
      );
    } catch (error) {
      return isNoDomain(error) ? 'gone' : 'unknown';
    }
  }

  /** Closes the connection, in the background: a hung daemon must not hold the job. */
  close(): void {
    const connection = this.#connection;
    this.#connection = undefined;
    connection?.then((c) => c.close()).catch(() => undefined);
  }

  async #ask<T>(question: (connection: LibvirtConnection, options: CallOptions) => Promise<T>): Promise<T> {
    this.#connection ??= this.backend.open(this.uri, { callTimeoutMs: this.timeoutMs });
    const opening = this.#connection;
    try {
      return await question(await opening, { timeoutMs: this.timeoutMs });
    } catch (error) {
      if (!isNoDomain(error) && this.#connection === opening) this.close();
      throw error;
    }
  }
}
