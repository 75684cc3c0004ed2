// What a client's frame body may hold (AMQP 1.0 part 2, 2.7 "Performatives", and part 5, 5.3.3
// "SASL Frames"): one performative a client sends, its mandatory fields present, every field of
// the type the specification gives it. rhea decodes any described list and dispatches on it
// ("dispatch is not a function" for an unknown descriptor; a string where a number belongs
// surfaces as a TypeError deep in a handler), so frames are checked here before rhea sees them.
// Encoding faults (skipValue) are decode errors; a wrong performative or field is invalid-field,
// which is what Microsoft.Azure.Amqp answers for an unknown performative (src/AmqpLink.cs,
// ProcessFrame: AmqpErrorCode.InvalidField, AmqpInvalidPerformativeCode).
import { readString, skipValue } from './codec';

export class InvalidFieldError extends Error {
  override name = 'InvalidFieldError';
}

type FieldType =
  | 'uint'
  | 'ushort'
  | 'ubyte'
  | 'ulong'
  | 'boolean'
  | 'string'
  | 'symbol'
  | 'symbols'
  | 'binary'
  | 'delivery-tag'
  | 'map'
  | 'source'
  | 'target'
  | 'error'
  | 'delivery-state'
  | 'outcome';

interface Field {
  name: string;
  type: FieldType;
  mandatory?: true;
}

interface Composite {
  name: string;
  fields: Field[];
}

const f = (name: string, type: FieldType, mandatory?: true): Field => ({ name, type, mandatory });
const CAPABILITIES = [f('offered-capabilities', 'symbols'), f('desired-capabilities', 'symbols')];

/** Performatives a client may send, by descriptor code. */
const AMQP_PERFORMATIVES = new Map<number, Composite>([
  [
    0x10,
    {
      name: 'open',
      fields: [
        f('container-id', 'string', true),
        f('hostname', 'string'),
        f('max-frame-size', 'uint'),
        f('channel-max', 'ushort'),
        f('idle-time-out', 'uint'),
        f('outgoing-locales', 'symbols'),
        f('incoming-locales', 'symbols'),
        ...CAPABILITIES,
        f('properties', 'map'),
      ],
    },
  ],
  [
    0x11,
    {
      name: 'begin',
      fields: [
        f('remote-channel', 'ushort'),
        f('next-outgoing-id', 'uint', true),
        f('incoming-window', 'uint', true),
        f('outgoing-window', 'uint', true),
        f('handle-max', 'uint'),
        ...CAPABILITIES,
        f('properties', 'map'),
      ],
    },
  ],
  [
    0x12,
    {
      name: 'attach',
      fields: [
        f('name', 'string', true),
        f('handle', 'uint', true),
        f('role', 'boolean', true),
        f('snd-settle-mode', 'ubyte'),
        f('rcv-settle-mode', 'ubyte'),
        f('source', 'source'),
        f('target', 'target'),
        f('unsettled', 'map'),
        f('incomplete-unsettled', 'boolean'),
        f('initial-delivery-count', 'uint'),
        f('max-message-size', 'ulong'),
        ...CAPABILITIES,
        f('properties', 'map'),
      ],
    },
  ],
  [
    0x13,
    {
      name: 'flow',
      fields: [
        f('next-incoming-id', 'uint'),
        f('incoming-window', 'uint', true),
        f('next-outgoing-id', 'uint', true),
        f('outgoing-window', 'uint', true),
        f('handle', 'uint'),
        f('delivery-count', 'uint'),
        f('link-credit', 'uint'),
        f('available', 'uint'),
        f('drain', 'boolean'),
        f('echo', 'boolean'),
        f('properties', 'map'),
      ],
    },
  ],
  [
    0x14,
    {
      name: 'transfer',
      fields: [
        f('handle', 'uint', true),
        f('delivery-id', 'uint'),
        f('delivery-tag', 'delivery-tag'),
        f('message-format', 'uint'),
        f('settled', 'boolean'),
        f('more', 'boolean'),
        f('rcv-settle-mode', 'ubyte'),
        f('state', 'delivery-state'),
        f('resume', 'boolean'),
        f('aborted', 'boolean'),
        f('batchable', 'boolean'),
      ],
    },
  ],
  [
    0x15,
    {
      name: 'disposition',
      fields: [
        f('role', 'boolean', true),
        f('first', 'uint', true),
        f('last', 'uint'),
        f('settled', 'boolean'),
        f('state', 'delivery-state'),
        f('batchable', 'boolean'),
      ],
    },
  ],
  [
    0x16,
    { name: 'detach', fields: [f('handle', 'uint', true), f('closed', 'boolean'), f('error', 'error')] },
  ],
  [0x17, { name: 'end', fields: [f('error', 'error')] }],
  [0x18, { name: 'close', fields: [f('error', 'error')] }],
]);

/** A client's SASL frames: sasl-init and sasl-response (the others are the server's). */
const SASL_PERFORMATIVES = new Map<number, Composite>([
  [
    0x41,
    {
      name: 'sasl-init',
      fields: [f('mechanism', 'symbol', true), f('initial-response', 'binary'), f('hostname', 'string')],
    },
  ],
  [0x43, { name: 'sasl-response', fields: [f('response', 'binary', true)] }],
]);

const TERMINUS_FIELDS = [
  f('address', 'string'),
  f('durable', 'uint'),
  f('expiry-policy', 'symbol'),
  f('timeout', 'uint'),
  f('dynamic', 'boolean'),
  f('dynamic-node-properties', 'map'),
];
const SOURCE: Composite = {
  name: 'source',
  fields: [
    ...TERMINUS_FIELDS,
    f('distribution-mode', 'symbol'),
    f('filter', 'map'),
    f('default-outcome', 'outcome'),
    f('outcomes', 'symbols'),
    f('capabilities', 'symbols'),
  ],
};
const TARGET: Composite = { name: 'target', fields: [...TERMINUS_FIELDS, f('capabilities', 'symbols')] };
const COORDINATOR: Composite = { name: 'coordinator', fields: [f('capabilities', 'symbols')] };
const ERROR: Composite = {
  name: 'error',
  fields: [f('condition', 'symbol', true), f('description', 'string'), f('info', 'map')],
};
const OUTCOMES = new Map<number, Composite>([
  [0x24, { name: 'accepted', fields: [] }],
  [0x25, { name: 'rejected', fields: [f('error', 'error')] }],
  [0x26, { name: 'released', fields: [] }],
  [
    0x27,
    {
      name: 'modified',
      fields: [
        f('delivery-failed', 'boolean'),
        f('undeliverable-here', 'boolean'),
        f('message-annotations', 'map'),
      ],
    },
  ],
]);
const DELIVERY_STATES = new Map<number, Composite>([
  ...OUTCOMES,
  [
    0x23,
    { name: 'received', fields: [f('section-number', 'uint', true), f('section-offset', 'ulong', true)] },
  ],
  [0x34, { name: 'transactional-state', fields: [f('txn-id', 'binary', true), f('outcome', 'outcome')] }],
]);

type DescribedFieldType = 'source' | 'target' | 'error' | 'outcome' | 'delivery-state';
const DESCRIBED_FIELDS: Record<DescribedFieldType, Map<number, Composite>> = {
  source: new Map([[0x28, SOURCE]]),
  target: new Map([
    [0x29, TARGET],
    [0x30, COORDINATOR],
  ]),
  error: new Map([[0x1d, ERROR]]),
  outcome: OUTCOMES,
  'delivery-state': DELIVERY_STATES,
};

/** Descriptor codes by symbolic name (amqp:open:list, ...), for peers that send names. */
const SYMBOLIC = new Map<string, number>();
for (const table of [AMQP_PERFORMATIVES, SASL_PERFORMATIVES, DELIVERY_STATES]) {
  for (const [code, composite] of table) SYMBOLIC.set(`amqp:${composite.name}:list`, code);
}
SYMBOLIC.set('amqp:source:list', 0x28).set('amqp:target:list', 0x29).set('amqp:error:list', 0x1d);
SYMBOLIC.set('amqp:coordinator:list', 0x30);

const TYPE_CODES: Partial<Record<FieldType, number[]>> = {
  uint: [0x70, 0x52, 0x43],
  ushort: [0x60],
  ubyte: [0x50],
  ulong: [0x80, 0x53, 0x44],
  boolean: [0x56, 0x41, 0x42],
  string: [0xa1, 0xb1],
  symbol: [0xa3, 0xb3],
  binary: [0xa0, 0xb0],
  'delivery-tag': [0xa0, 0xb0],
  map: [0xc1, 0xd1],
};
const NULL = 0x40;
/** A delivery-tag is at most 32 octets (AMQP 1.0 part 2, 2.8.7). */
const MAX_DELIVERY_TAG = 32;

/**
 * Checks the body of one frame from a client (`pos` to `end`, after the frame header): a
 * performative of the right kind for the frame type, well encoded, with valid fields. Returns the
 * position where the performative ends (the payload, for a transfer, starts there).
 */
export function checkPerformative(buf: Buffer, pos: number, end: number, sasl: boolean): number {
  const performativeEnd = skipValue(buf, pos, end);
  const table = sasl ? SASL_PERFORMATIVES : AMQP_PERFORMATIVES;
  const code = describedCode(buf, pos);
  const composite = code === undefined ? undefined : table.get(code.value);
  if (!composite) {
    throw new InvalidFieldError(
      `a ${sasl ? 'SASL' : 'AMQP'} frame holds no performative a client sends` +
        (code === undefined ? '' : ` (descriptor 0x${code.value.toString(16)})`),
    );
  }
  checkFields(buf, code!.valueStart, performativeEnd, composite);
  return performativeEnd;
}

/** The descriptor code of the described value at `pos` (undefined if not a known one). */
function describedCode(buf: Buffer, pos: number): { value: number; valueStart: number } | undefined {
  if (buf[pos] !== 0x00) return undefined;
  const descriptor = pos + 1;
  const valueStart = skipValue(buf, descriptor);
  switch (buf[descriptor]) {
    case 0x53:
      return { value: buf[descriptor + 1], valueStart };
    case 0x80:
      // Only the AMQP domain (high 32 bits zero) holds these composites.
      if (buf.readUInt32BE(descriptor + 1) !== 0) return undefined;
      return { value: buf.readUInt32BE(descriptor + 5), valueStart };
    case 0xa3:
    case 0xb3: {
      const value = SYMBOLIC.get(readString(buf, descriptor) ?? '');
      return value === undefined ? undefined : { value, valueStart };
    }
    default:
      return undefined;
  }
}

function checkFields(buf: Buffer, listStart: number, end: number, composite: Composite): void {
  const code = buf[listStart];
  let count = 0;
  let cursor = listStart + 1;
  if (code === 0xc0) {
    count = buf[listStart + 2];
    cursor = listStart + 3;
  } else if (code === 0xd0) {
    count = buf.readUInt32BE(listStart + 5);
    cursor = listStart + 9;
  } else if (code !== 0x45) {
    throw new InvalidFieldError(`the ${composite.name} is not a list`);
  }
  for (let i = 0; i < composite.fields.length; i++) {
    const field = composite.fields[i];
    if (i >= count || buf[cursor] === NULL) {
      if (field.mandatory)
        throw new InvalidFieldError(`${composite.name}: the mandatory ${field.name} is missing`);
      if (i >= count) return;
    } else {
      checkField(buf, cursor, end, composite, field);
    }
    cursor = skipValue(buf, cursor, end);
  }
}

function checkField(buf: Buffer, pos: number, end: number, composite: Composite, field: Field): void {
  const code = buf[pos];
  const wrong = () =>
    new InvalidFieldError(
      `${composite.name}: ${field.name} must be a ${field.type}, found type 0x${code.toString(16)}`,
    );
  const codes = TYPE_CODES[field.type];
  if (codes) {
    if (!codes.includes(code)) throw wrong();
    if (
      field.type === 'delivery-tag' &&
      skipValue(buf, pos, end) - pos - (code === 0xa0 ? 2 : 5) > MAX_DELIVERY_TAG
    )
      throw new InvalidFieldError(`transfer: the delivery-tag is longer than ${MAX_DELIVERY_TAG} bytes`);
    return;
  }
  if (field.type === 'symbols') {
    // A single symbol or an array of symbols.
    if (code === 0xa3 || code === 0xb3) return;
    const elementAt = code === 0xe0 ? pos + 3 : code === 0xf0 ? pos + 9 : -1;
    if (elementAt < 0 || (buf[elementAt] !== 0xa3 && buf[elementAt] !== 0xb3)) throw wrong();
    return;
  }
  const described = describedCode(buf, pos);
  const table = DESCRIBED_FIELDS[field.type as DescribedFieldType];
  const nested = described && table.get(described.value);
  if (!nested) throw wrong();
  checkFields(buf, described!.valueStart, end, nested);
}
