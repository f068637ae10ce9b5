import { SIGNATURE, copyOf, hexNumber, readUint16, readUint32, zipInvalid } from './bytes';
import { type DataCheck, type EntryContext, checkData } from './entry-data';
import { FLAG, type ZipEntry, decodeName, readExtras, zip64Values } from './entry';

const LOCAL_HEADER_BYTES = 30;
/** Flag bits 1 and 2 only hint at the compression level; writers need not repeat them. */
const COMPARED_FLAGS = ~0x0006;

type Phase =
  | { kind: 'prefix'; end: number }
  | { kind: 'header'; entry: ZipEntry }
  | { kind: 'data'; entry: ZipEntry; left: number; check: DataCheck }
  | { kind: 'trailer'; entry: ZipEntry; length: number }
  | { kind: 'done' };

/**
 * Walks a run of consecutive entries as their bytes stream by, in order, from `start` (the first entry's
 * local header, or 0 for the archive's first run): each local header is read and compared with its
 * central-directory entry, the data checked (CRC-32, and inflated when deflated), a data descriptor
 * compared, and no byte left unaccounted for up to the next entry, or up to `runEnd` after the last.
 * Holds one header at a time and what the inflater buffers; never an entry's data.
 *
 * An entry's record end is read from the next entry's offset, not kept in an object per entry: such
 * objects, made in one pass, change shape when the last one's end (the central directory's offset) is
 * held differently by V8 than the others, and each then missed once on its first read here, which kept
 * V8 from ever optimizing the header check (`node --trace-opt-verbose`: "resetting ticks ... IC change").
 */
export class EntryWalker {
  private phase: Phase;
  private next = 0;
  /** The pieces of a header or trailer read so far: the first `heldCount` slots (the array is kept, not made anew per header). */
  private readonly held: Uint8Array[] = [];
  private heldCount = 0;
  private heldBytes = 0;
  /** The last bytes of the prefix, for a signature split across chunks. */
  private prefixCarry: Uint8Array = NOTHING;

  constructor(
    private readonly entries: readonly ZipEntry[],
    private readonly runEnd: number,
    private position: number,
    private readonly onLink: (entry: ZipEntry, target: Uint8Array) => void,
    private readonly contextOf: (entry: ZipEntry) => EntryContext,
  ) {
    const first = entries[0];
    if (first === undefined) this.phase = { kind: 'done' };
    else if (first.offset > position) this.phase = { kind: 'prefix', end: first.offset };
    else this.phase = this.headerOf();
  }

  async push(chunk: Uint8Array): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      const phase = this.phase;
      switch (phase.kind) {
        case 'prefix': {
          const take = Math.min(chunk.length - at, phase.end - this.position);
          this.scanPrefix(chunk.subarray(at, at + take));
          at += take;
          this.position += take;
          if (this.position === phase.end) this.phase = this.headerOf();
          break;
        }
        case 'header': {
          const needed = this.headerBytesNeeded(chunk, at);
          const taken = this.hold(chunk, at, needed);
          at += taken;
          this.position += taken;
          if (this.heldBytes === this.headerBytesNeeded(chunk, at)) this.phase = this.readHeader(phase.entry);
          break;
        }
        case 'data': {
          const take = Math.min(chunk.length - at, phase.left);
          // Awaited only when the check has to wait (an inflater behind): most chunks are checked at once.
          const checking = phase.check.push(chunk.subarray(at, at + take));
          if (checking !== undefined) await checking;
          at += take;
          this.position += take;
          phase.left -= take;
          break;
        }
        case 'trailer': {
          const taken = this.hold(chunk, at, phase.length);
          at += taken;
          this.position += taken;
          break;
        }
        case 'done':
          throw new Error(`EntryWalker received bytes past its last entry, at ${this.position}`);
      }
      if (!this.settled()) {
        const settling = this.settle();
        if (settling !== undefined) await settling;
      }
    }
  }

  /** Throws unless every entry of the run has been walked to its end. */
  async end(): Promise<void> {
    await this.settle();
    const phase = this.phase;
    if (phase.kind === 'done') return;
    const name = phase.kind === 'prefix' ? this.entries[0]!.name : phase.entry.name;
    throw zipInvalid(`entry ${JSON.stringify(name)} is cut short: the archive ends inside it (truncated zip); upload it again`, { entry: name });
  }

  /** Whether the phase still waits for bytes: what `settle` would leave as it is. */
  private settled(): boolean {
    const phase = this.phase;
    return !((phase.kind === 'data' && phase.left === 0) || (phase.kind === 'trailer' && this.heldBytes === phase.length));
  }

  /**
   * Moves on from a phase that has all its bytes: zero-length data and trailers take none. A promise only
   * when an entry's check has to wait; most entries end at once, with no promise made for them.
   */
  private settle(): void | Promise<void> {
    while (!this.settled()) {
      const phase = this.phase;
      if (phase.kind === 'data') {
        const ended = phase.check.end();
        if (ended instanceof Promise) return ended.then((link) => this.afterData(phase.entry, link)).then(() => this.settle());
        this.afterData(phase.entry, ended);
      } else if (phase.kind === 'trailer') {
        checkTrailer(phase.entry, this.take());
        this.next += 1;
        this.phase = this.next < this.entries.length ? this.headerOf() : { kind: 'done' };
      }
    }
  }

  private afterData(entry: ZipEntry, link: Uint8Array | undefined): void {
    if (link !== undefined) this.onLink(entry, link);
    this.phase = this.trailerOf(entry);
  }

  private headerOf(): Phase {
    return { kind: 'header', entry: this.entries[this.next]! };
  }

  /** Where the current entry's record must end: at the next entry's local header, or the run's end. */
  private recordEnd(): number {
    return this.entries[this.next + 1]?.offset ?? this.runEnd;
  }

  /**
   * The local header's length, once its fixed part is known: from the chunk, when the header starts at
   * `chunk[at]` and its fixed part lies in it (nearly always), so that the whole header is then held as
   * one piece, with no copy to join it; else from what is held.
   */
  private headerBytesNeeded(chunk: Uint8Array, at: number): number {
    if (this.heldBytes === 0) {
      return chunk.length - at >= LOCAL_HEADER_BYTES ? LOCAL_HEADER_BYTES + readUint16(chunk, at + 26) + readUint16(chunk, at + 28) : LOCAL_HEADER_BYTES;
    }
    if (this.heldBytes < LOCAL_HEADER_BYTES) return LOCAL_HEADER_BYTES;
    const first = this.held[0]!;
    const header = first.length >= LOCAL_HEADER_BYTES ? first : this.peek();
    return LOCAL_HEADER_BYTES + readUint16(header, 26) + readUint16(header, 28);
  }

  private hold(chunk: Uint8Array, at: number, needed: number): number {
    const take = Math.min(chunk.length - at, needed - this.heldBytes);
    if (take === 0) return 0;
    this.held[this.heldCount] = chunk.subarray(at, at + take);
    this.heldCount += 1;
    this.heldBytes += take;
    return take;
  }

  /** What is held, as one array, held from then on as one piece. */
  private peek(): Uint8Array {
    if (this.heldCount === 0) return NOTHING;
    if (this.heldCount > 1) {
      const bytes = Buffer.concat(this.held.slice(0, this.heldCount), this.heldBytes);
      this.release();
      this.held[0] = bytes;
      this.heldCount = 1;
    }
    return this.held[0]!;
  }

  private take(): Uint8Array {
    const bytes = this.peek();
    this.release();
    this.heldBytes = 0;
    return bytes;
  }

  /** Lets go of the held pieces, views of whole chunks, without emptying the array: V8 would free its storage and make it again for the next header. */
  private release(): void {
    for (let index = 0; index < this.heldCount; index++) this.held[index] = NOTHING;
    this.heldCount = 0;
  }

  /**
   * The local header against the central directory's entry. Run for every entry, so the usual case
   * builds no message and decodes no name; the faults are spelt out in the functions below the class.
   */
  private readHeader(entry: ZipEntry): Phase {
    const header = this.take();
    if (readUint32(header, 0) !== SIGNATURE.localFileHeader) throw noLocalHeader(entry);
    const flags = readUint16(header, 6);
    if (((flags ^ entry.flags) & COMPARED_FLAGS) !== 0) throw disagreement(entry, 'flags', hexNumber(flags, 4), hexNumber(entry.flags, 4));
    const method = readUint16(header, 8);
    if (method !== entry.method) throw disagreement(entry, 'compression method', method, entry.method);
    const nameEnd = LOCAL_HEADER_BYTES + readUint16(header, 26);
    assertSameName(entry, header, nameEnd, flags);
    assertSameFields(entry, header, nameEnd, flags);
    if (this.position + entry.compressedSize > this.recordEnd()) throw overlapping(entry);
    return { kind: 'data', entry, left: entry.compressedSize, check: checkData(entry, this.contextOf(entry)) };
  }

  private trailerOf(entry: ZipEntry): Phase {
    const length = this.recordEnd() - this.position;
    const allowed = (entry.flags & FLAG.dataDescriptor) !== 0 ? DESCRIPTOR_LENGTHS : [0];
    if (!allowed.includes(length)) {
      throw zipInvalid(
        `entry ${JSON.stringify(entry.name)} is followed by ${length} bytes that no entry accounts for (hidden data, or an entry the central directory does not list); re-zip the layer`,
        { entry: entry.name },
      );
    }
    return { kind: 'trailer', entry, length };
  }

  /** Bytes before the first entry (a self-extracting stub) are accepted, unless a reader could take them for an entry. */
  private scanPrefix(bytes: Uint8Array): void {
    const window = Buffer.concat([this.prefixCarry, bytes]);
    if (window.indexOf(LOCAL_SIGNATURE) !== -1) {
      throw zipInvalid(
        "the bytes before the zip's first entry hold a local header that its central directory does not list (an archive hidden in front of another), so tools disagree on its contents; re-zip the layer",
      );
    }
    this.prefixCarry = copyOf(window.subarray(Math.max(0, window.length - 3)));
  }
}

const LOCAL_SIGNATURE = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
/** No bytes: an empty trailer, and the prefix's carry before any; a Buffer, as every chunk is (read-archive.ts). */
const NOTHING = Buffer.alloc(0);

/** A data descriptor, when the entry has one: it must repeat the central directory's CRC-32 and sizes. */
function checkTrailer(entry: ZipEntry, trailer: Uint8Array): void {
  if (trailer.length === 0) return;
  const signed = trailer.length === 16 || trailer.length === 24;
  const at = signed ? 4 : 0;
  const wide = trailer.length >= 20;
  const read = (offset: number) => (wide ? readUint32(trailer, offset) + readUint32(trailer, offset + 4) * 2 ** 32 : readUint32(trailer, offset));
  const ok =
    (!signed || readUint32(trailer, 0) === SIGNATURE.dataDescriptor) &&
    readUint32(trailer, at) === entry.crc32 &&
    read(at + 4) === entry.compressedSize &&
    read(at + (wide ? 12 : 8)) === entry.uncompressedSize;
  if (!ok) {
    throw zipInvalid(
      `entry ${JSON.stringify(entry.name)}: its data descriptor disagrees with its central-directory entry (CRC-32 or sizes), so tools disagree on it; re-zip the layer`,
      { entry: entry.name },
    );
  }
}

function noLocalHeader(entry: ZipEntry): Error {
  return zipInvalid(
    `entry ${JSON.stringify(entry.name)} has no local header at offset ${entry.offset}, where the central directory says it starts (corrupt archive)`,
    { entry: entry.name },
  );
}

function disagreement(entry: ZipEntry, what: string, local: unknown, central: unknown): Error {
  return zipInvalid(
    `entry ${JSON.stringify(entry.name)}: its local header says ${what} ${String(local)}, its central-directory entry ${String(central)}, so tools disagree on it; re-zip the layer`,
    { entry: entry.name },
  );
}

function overlapping(entry: ZipEntry): Error {
  return zipInvalid(`entry ${JSON.stringify(entry.name)}'s data runs into the next record (overlapping entries, or a truncated zip); re-zip the layer`, {
    entry: entry.name,
  });
}

/** The local header's name, which must be the central directory's: compared byte by byte when ASCII, decoded otherwise. */
function assertSameName(entry: ZipEntry, header: Uint8Array, nameEnd: number, flags: number): void {
  if (spellsInAscii(header, LOCAL_HEADER_BYTES, nameEnd, entry.name)) return;
  const localName = decodeName(header.subarray(LOCAL_HEADER_BYTES, nameEnd), flags);
  if (localName !== entry.name) throw disagreement(entry, 'name', JSON.stringify(localName ?? '(not UTF-8)'), JSON.stringify(entry.name));
}

/** Whether `bytes[from, to)` are `name` in ASCII, which UTF-8 and Latin-1 (how entry.ts reads a CP437 name) decode alike. */
function spellsInAscii(bytes: Uint8Array, from: number, to: number, name: string): boolean {
  if (to - from !== name.length) return false;
  for (let index = 0; index < name.length; index++) {
    const byte = bytes[from + index]!;
    if (byte >= 0x80 || byte !== name.charCodeAt(index)) return false;
  }
  return true;
}

/** The local header's CRC-32 and sizes: the central directory's, or zero when a data descriptor follows. */
function assertSameFields(entry: ZipEntry, header: Uint8Array, nameEnd: number, flags: number): void {
  let uncompressedSize = readUint32(header, 22);
  let compressedSize = readUint32(header, 18);
  // Most local headers have no extra field, and with sizes under 4 GiB no ZIP64 block is needed to read them.
  if (header.length > nameEnd || uncompressedSize === SATURATED || compressedSize === SATURATED) {
    const extras = readExtras(header.subarray(nameEnd), entry.name);
    const wide = zip64Values(extras, entry.name, [
      { value: uncompressedSize, saturated: SATURATED },
      { value: compressedSize, saturated: SATURATED },
    ]);
    uncompressedSize = wide[0]!;
    compressedSize = wide[1]!;
  }
  const crc = readUint32(header, 14);
  // With a data descriptor the header may leave these at zero; what it does say must agree.
  const deferred = (flags & FLAG.dataDescriptor) !== 0;
  if (crc !== entry.crc32 && !(deferred && crc === 0)) throw disagreement(entry, 'CRC-32', hexNumber(crc, 8), hexNumber(entry.crc32, 8));
  if (compressedSize !== entry.compressedSize && !(deferred && compressedSize === 0)) {
    throw disagreement(entry, 'compressed size', compressedSize, entry.compressedSize);
  }
  if (uncompressedSize !== entry.uncompressedSize && !(deferred && uncompressedSize === 0)) {
    throw disagreement(entry, 'size', uncompressedSize, entry.uncompressedSize);
  }
}

const SATURATED = 0xffffffff;
/** Data descriptors: with or without their signature, with 32- or 64-bit (ZIP64) sizes. */
const DESCRIPTOR_LENGTHS = [12, 16, 20, 24];
