import { processInitiatingHalf, respondingId, transferEditConflict, transferTombstone, type SyncRecord, type TransferDocument } from '@sitesync/domain';
import { customerInvoice, seedExampleTopology } from '@sitesync/testkit';
import { tableRows } from './decision-tables';

const topology = seedExampleTopology();
const CENTRAL = 1;
const rows = tableRows('Y');

/** The setup of table Y: a finalised customer invoice from B to C with two lines, and the supplier invoice the central made of it. */
function setupY(): { before: TransferDocument; made: TransferDocument } {
  const before = customerInvoice({
    id: 'ci-y',
    from: 'B',
    to: 'C',
    lines: [
      { itemId: 'amoxicillin', quantity: 10 },
      { itemId: 'ors', quantity: 20 },
    ],
  });
  const outcome = processInitiatingHalf(topology, CENTRAL, before, null);
  if (!outcome.ok || outcome.value.kind !== 'created') throw new Error('setup: the transfer was not created');
  const [header, ...lines] = outcome.value.writes;
  return { before, made: { header: header!, lines } };
}

const tombstoneOf = (r: SyncRecord): SyncRecord => ({
  ...r,
  deleted: true,
  data: r.type === 'transaction_line' ? { transactionId: r.data['transactionId'] } : {},
});
const withData = (r: SyncRecord, data: Record<string, unknown>): SyncRecord => ({ ...r, data: { ...r.data, ...data } });

function changeOfA(change: string, before: TransferDocument): TransferDocument {
  const [l1, l2] = before.lines as [SyncRecord, SyncRecord];
  switch (change) {
    case 'line added':
      return {
        header: withData(before.header, { lineCount: 3 }),
        lines: [l1, l2, { ...l1, id: 'ci-y-l3', data: { ...l1.data, itemId: 'zinc', quantity: 5 } }],
      };
    case 'line quantity changed':
      return { header: before.header, lines: [withData(l1, { quantity: 11 }), l2] };
    case 'line deleted':
      return { header: withData(before.header, { lineCount: 1 }), lines: [l1, tombstoneOf(l2)] };
    case 'document deleted':
      return { header: tombstoneOf(before.header), lines: before.lines.map(tombstoneOf) };
    case 'field not copied changed':
      return { header: withData(before.header, { internalNote: 'checked by the pharmacist' }), lines: before.lines };
    case 'nothing':
    case 'change undone':
      return before;
    default:
      throw new Error(`docs/sync-rules.md table Y: unknown change "${change}"`);
  }
}

function stateOfB(state: string, made: TransferDocument): TransferDocument | null {
  const [l1, l2] = made.lines as [SyncRecord, SyncRecord];
  switch (state) {
    case 'untouched':
      return made;
    case 'numbered':
      return { header: withData(made.header, { serialNumber: 7 }), lines: made.lines };
    case 'finalised':
      return { header: withData(made.header, { serialNumber: 7, status: 'finalised', onHold: false }), lines: made.lines };
    case 'line edited':
      return { header: made.header, lines: [withData(l1, { quantity: 9 }), l2] };
    case 'line added':
      return {
        header: made.header,
        lines: [
          ...made.lines,
          {
            type: 'transaction_line',
            id: 'si-own',
            storeId: 'C',
            otherPartyStoreId: 'B',
            data: { transactionId: made.header.id, itemId: 'gloves', quantity: 1 },
          },
        ],
      };
    case 'line deleted':
      return { header: made.header, lines: [l1, tombstoneOf(l2)] };
    case 'header deleted':
      return { header: tombstoneOf(made.header), lines: made.lines.map(tombstoneOf) };
    case 'none':
      return null;
    default:
      throw new Error(`docs/sync-rules.md table Y: unknown state of B "${state}"`);
  }
}

describe('changing a transferred half (docs/sync-rules.md table Y)', () => {
  it('the table has its rows', () => {
    expect(rows.length).toBeGreaterThanOrEqual(16);
  });

  it.each(rows)('%s: %s while B is %s -> %s, writes %s, A refuses: %s', (_id, change, state, outcome, written, onA) => {
    const { before, made } = setupY();
    const existing = stateOfB(state!, made);
    const after = changeOfA(change!, before);
    const result = processInitiatingHalf(topology, CENTRAL, after, existing);
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value.kind).toBe(outcome);
    const writes = 'writes' in result.value ? result.value.writes : [];
    const byId = new Map(writes.map((w) => [w.id, w]));
    switch (written) {
      case 'nothing':
        expect(writes).toEqual([]);
        break;
      case 'new line':
        expect(byId.get(respondingId('ci-y-l3', 'stock-transfer'))).toMatchObject({
          storeId: 'C',
          data: { itemId: 'zinc', quantity: 5, linkedLineId: 'ci-y-l3' },
        });
        expect(byId.get(made.header.id)?.data['lineCount']).toBe(3);
        break;
      case 'changed line':
        expect(writes.map((w) => w.id)).toEqual([respondingId('ci-y-l1', 'stock-transfer')]);
        expect(writes[0]!.data['quantity']).toBe(11);
        break;
      case 'line tombstone':
        expect(byId.get(respondingId('ci-y-l2', 'stock-transfer'))).toMatchObject({
          deleted: true,
          data: { deletedByTransfer: true, transactionId: made.header.id },
        });
        expect(byId.get(made.header.id)).toMatchObject({ data: { lineCount: 1 } });
        expect(byId.get(made.header.id)!.deleted).toBeUndefined();
        break;
      case 'all tombstones':
        expect(writes).toHaveLength(3);
        expect(writes.every((w) => w.deleted === true && w.data['deletedByTransfer'] === true)).toBe(true);
        break;
      default:
        throw new Error(`docs/sync-rules.md table Y: unknown writes "${written}"`);
    }
    // the serial number B's site gave is kept whenever the header is rewritten
    const header = byId.get(made.header.id);
    if (header && header.deleted !== true) expect(header.data['serialNumber']).toBe(existing!.header.data['serialNumber']);
    if (result.value.kind === 'conflict') {
      expect(result.value.violation).toMatchObject({ code: 'transfer.responding-half-touched', recordId: 'ci-y' });
      expect(result.value.violation.fix).toMatch(/credit or return|return or credit/);
    }

    // the initiating site checks the same before it writes the change
    const refusal = existing ? transferEditConflict(topology, after, existing) : null;
    expect(refusal === null ? 'accepted' : 'refused').toBe(onA);
  });

  it('a tombstone the transfer wrote is untouched: processing the deleted half again writes nothing', () => {
    const { before, made } = setupY();
    const deleted = changeOfA('document deleted', before);
    const gone: TransferDocument = { header: transferTombstone(made.header), lines: made.lines.map(transferTombstone) };
    expect(processInitiatingHalf(topology, CENTRAL, deleted, gone)).toMatchObject({ ok: true, value: { kind: 'already-processed', writes: [] } });
  });

  it('carrying twice is idempotent: after the update is applied, the same change writes nothing', () => {
    const { before, made } = setupY();
    const after = changeOfA('line quantity changed', before);
    const first = processInitiatingHalf(topology, CENTRAL, after, made);
    if (!first.ok || first.value.kind !== 'updated') throw new Error('expected updated');
    const applied: TransferDocument = {
      header: made.header,
      lines: made.lines.map((l) => (first.value.kind === 'updated' ? (first.value.writes.find((w) => w.id === l.id) ?? l) : l)),
    };
    expect(processInitiatingHalf(topology, CENTRAL, after, applied)).toMatchObject({ ok: true, value: { kind: 'already-processed' } });
  });
});

describe('details of changing a transferred half', () => {
  it('a line deleted while the sender left the line count as it was is still carried (its tombstone counts as arrived)', () => {
    const { before, made } = setupY();
    const [l1, l2] = before.lines as [SyncRecord, SyncRecord];
    const after: TransferDocument = { header: before.header, lines: [l1, tombstoneOf(l2)] }; // lineCount still 2
    const result = processInitiatingHalf(topology, CENTRAL, after, made);
    expect(result).toMatchObject({ ok: true, value: { kind: 'updated' } });
  });

  it('a copied field holding an object is the same copy whatever order its keys come back in (SQLite keeps it, jsonb sorts its own way)', () => {
    const invoice = customerInvoice({ id: 'ci-tax', from: 'B', to: 'C', data: { tax: { rate: 0.15, name: 'VAT' } } });
    const created = processInitiatingHalf(topology, CENTRAL, invoice, null);
    if (!created.ok || created.value.kind !== 'created') throw new Error('expected created');
    const [header, ...lines] = created.value.writes;
    const reordered: SyncRecord = { ...header!, data: { ...header!.data, tax: { name: 'VAT', rate: 0.15 } } };
    // still untouched: a change of the sender is carried, not reported as a conflict
    const changed: TransferDocument = { header: invoice.header, lines: invoice.lines.map((l) => withData(l, { quantity: 99 })) };
    expect(processInitiatingHalf(topology, CENTRAL, changed, { header: reordered, lines })).toMatchObject({ ok: true, value: { kind: 'updated' } });
  });
});
