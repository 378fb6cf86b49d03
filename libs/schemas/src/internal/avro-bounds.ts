/**
 * A bounds check of an Avro body against its writer's schema, run before avsc decodes it. avsc trusts the
 * counts it reads: one flipped byte in an array or map block count (a varint) can ask for billions of items,
 * which it then allocates one by one, reading defaults past the end of the buffer, until the process runs out of
 * memory. A poison record would then crash its consumer at every restart instead of reaching the dead-letter
 * topic. The walk reads only lengths and counts, and refuses a body whose lengths, counts or union branches do not
 * fit the bytes that are there.
 */
import type avro from 'avsc';

/** Items of zero encoded bytes (`null`, an empty record) are bounded by count instead of by bytes. */
const MAX_ZERO_SIZE_ITEMS = 1_000_000;

/** Reads one value of a type at the cursor, checking its lengths, counts and branches against the bytes there. */
type Walker = (body: Buffer, cursor: { pos: number }) => void;

/**
 * Walkers compiled once per avsc type: decoding is on every hop's hot path, and interpreting the schema on each
 * record cost more than avsc's own decode.
 */
const compiled = new WeakMap<avro.Type, Walker>();

/** Why a body failed the check, or null when it fits its schema's framing. */
export function checkAvroBounds(type: avro.Type, body: Buffer): string | null {
  const cursor = { pos: 0 };
  try {
    walkerOf(type)(body, cursor);
  } catch (error) {
    if (error instanceof BoundsError) return error.message;
    throw error;
  }
  return cursor.pos > body.length ? 'the body ends inside a value' : null;
}

class BoundsError extends Error {}

function fail(message: string): never {
  throw new BoundsError(message);
}

/** A zig-zag varint (Avro int/long) as a JS number; refuses more than 10 bytes and the end of the buffer. */
function readLong(body: Buffer, cursor: { pos: number }): number {
  let result = 0;
  let multiplier = 1;
  for (let i = 0; i < 10; i++) {
    if (cursor.pos >= body.length) fail('the body ends inside a number');
    const byte = body[cursor.pos++]!;
    result += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
    multiplier *= 128;
  }
  return fail('a number longer than 10 bytes');
}

function skip(body: Buffer, cursor: { pos: number }, bytes: number): void {
  if (bytes < 0 || cursor.pos + bytes > body.length) fail(`a length of ${bytes} bytes past the end of the body`);
  cursor.pos += bytes;
}

/** Whether a value of the type can take zero bytes (then a count cannot be bounded by the bytes left). */
function canBeEmpty(type: avro.Type): boolean {
  const name = type.typeName;
  if (name === 'null') return true;
  if (name === 'record' || name === 'error')
    return (type as avro.types.RecordType).fields.every((f) => canBeEmpty(f.type));
  if (name === 'fixed') return (type as avro.types.FixedType).size === 0;
  if (name.startsWith('logical:')) return canBeEmpty((type as avro.types.LogicalType).underlyingType);
  return false;
}

const readNumber: Walker = (body, cursor) => void readLong(body, cursor);
const readLengthPrefixed: Walker = (body, cursor) => skip(body, cursor, readLong(body, cursor));
const fixedSize =
  (bytes: number): Walker =>
  (body, cursor) =>
    skip(body, cursor, bytes);

function walkerOf(type: avro.Type): Walker {
  const known = compiled.get(type);
  if (known !== undefined) return known;
  // A recursive schema refers back to a type being compiled: its entry forwards to the finished walker.
  const slot: { walker?: Walker } = {};
  compiled.set(type, (body, cursor) => slot.walker!(body, cursor));
  slot.walker = compile(type);
  compiled.set(type, slot.walker);
  return slot.walker;
}

function compile(type: avro.Type): Walker {
  const name = type.typeName;
  switch (name) {
    case 'null':
      return () => {};
    case 'boolean':
      return fixedSize(1);
    case 'int':
    case 'long':
    case 'enum':
      return readNumber;
    case 'float':
      return fixedSize(4);
    case 'double':
      return fixedSize(8);
    case 'bytes':
    case 'string':
      return readLengthPrefixed;
    case 'fixed':
      return fixedSize((type as avro.types.FixedType).size);
    case 'record':
    case 'error': {
      const fields = (type as avro.types.RecordType).fields.map((field) => walkerOf(field.type));
      return (body, cursor) => {
        for (const field of fields) field(body, cursor);
      };
    }
    case 'array':
    case 'map': {
      const itemsType =
        name === 'array' ? (type as avro.types.ArrayType).itemsType : (type as avro.types.MapType).valuesType;
      const items = walkerOf(itemsType);
      const empty = name === 'array' && canBeEmpty(itemsType);
      const isMap = name === 'map';
      return (body, cursor) => {
        let total = 0;
        for (;;) {
          let count = readLong(body, cursor);
          if (count === 0) return;
          // A negative count is followed by the block's size in bytes.
          if (count < 0) {
            count = -count;
            readLong(body, cursor);
          }
          total += count;
          if (empty ? total > MAX_ZERO_SIZE_ITEMS : count > body.length - cursor.pos) {
            fail(`a block of ${count} items where ${body.length - cursor.pos} bytes are left`);
          }
          for (let i = 0; i < count; i++) {
            if (isMap) readLengthPrefixed(body, cursor);
            items(body, cursor);
          }
        }
      };
    }
    default: {
      if (name.startsWith('union')) {
        const branches = (type as avro.types.UnwrappedUnionType).types.map((branch) => walkerOf(branch));
        return (body, cursor) => {
          const index = readLong(body, cursor);
          if (index < 0 || index >= branches.length) fail(`union branch ${index} of ${branches.length}`);
          branches[index]!(body, cursor);
        };
      }
      if (name.startsWith('logical:')) return walkerOf((type as avro.types.LogicalType).underlyingType);
      return () => fail(`a type the check does not know: ${name}`);
    }
  }
}
