import type { SyncRecord } from '../record';
import { respondingId, str, TRANSFER_KINDS, type TransferHeaderType, type TransferKind } from './transfer-documents';

/** The header type of each kind's initiating and responding half. */
export const TRANSFER_HALVES: Record<TransferKind, { readonly initiating: TransferHeaderType; readonly responding: TransferHeaderType }> = {
  'stock-transfer': { initiating: 'transaction', responding: 'transaction' },
  'mobile-requisition': { initiating: 'requisition', responding: 'requisition' },
  'internal-order': { initiating: 'purchase_order', responding: 'transaction' },
  'internal-receipt': { initiating: 'transaction', responding: 'goods_received' },
};

/** The data field of an initiating header that shows its responding half's progress. */
export const RESPONSE_FIELD = 'response';

/**
 * The initiating header a responding header answers (by the kind the transfer stamped on it, or
 * for a tombstone without data by its derived id), or null. Callers check that it exists and that
 * its stores are the responding header's stores swapped.
 */
export function initiatingRefOf(responding: SyncRecord): { readonly type: TransferHeaderType; readonly id: string; readonly kind: TransferKind } | null {
  const stamped = str(responding.data, 'createdByTransfer');
  const kinds = stamped && (TRANSFER_KINDS as readonly string[]).includes(stamped) ? [stamped as TransferKind] : TRANSFER_KINDS;
  for (const kind of kinds) {
    const halves = TRANSFER_HALVES[kind];
    if (halves.responding !== responding.type) continue;
    const suffix = respondingId('', kind);
    if (!responding.id.endsWith(suffix) || responding.id.length === suffix.length) continue;
    return { type: halves.initiating, id: responding.id.slice(0, -suffix.length), kind };
  }
  return null;
}

/** What the initiating half shows of its responding half (docs/transfers.md, "Feedback"). */
export interface TransferResponse {
  readonly type: string;
  readonly id: string;
  /** created (not yet numbered by the responding site), received (numbered), its own status once it moves on, or deleted */
  readonly state: string;
  readonly serialNumber: number | null;
  readonly status: string | null;
  readonly receivedAt: string | null;
  readonly finalisedAt: string | null;
  readonly deletedAt: string | null;
}

/**
 * The response to show on `initiating` for the responding header `responding` as it is now, or null
 * when what it shows is already right. Times are those the responding half carries
 * (`receivedAt`/`finalisedAt`), else when this site first saw the state.
 */
export function transferResponse(initiating: SyncRecord, responding: SyncRecord, now: Date): TransferResponse | null {
  const before = initiating.data[RESPONSE_FIELD] as Partial<TransferResponse> | undefined;
  const deleted = responding.deleted === true;
  const serial = typeof responding.data['serialNumber'] === 'number' ? (responding.data['serialNumber'] as number) : null;
  const status = deleted ? null : str(responding.data, 'status');
  const numbered = serial !== null && serial > 0;
  const state = deleted ? 'deleted' : status === 'finalised' ? 'finalised' : status && status !== 'new' ? status : numbered ? 'received' : 'created';
  const at = now.toISOString();
  const next: TransferResponse = {
    type: responding.type,
    id: responding.id,
    state,
    serialNumber: numbered ? serial : (before?.serialNumber ?? null),
    status,
    receivedAt: numbered ? (before?.receivedAt ?? str(responding.data, 'receivedAt') ?? at) : (before?.receivedAt ?? null),
    finalisedAt: state === 'finalised' ? (before?.finalisedAt ?? str(responding.data, 'finalisedAt') ?? at) : (before?.finalisedAt ?? null),
    deletedAt: deleted ? (before?.deletedAt ?? at) : null,
  };
  if (
    before &&
    before.type === next.type &&
    before.id === next.id &&
    before.state === next.state &&
    before.serialNumber === next.serialNumber &&
    before.status === next.status
  ) {
    return null;
  }
  return next;
}
