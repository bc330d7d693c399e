export { rawRowOf } from './canonical-record';
export { describeStorageContract, type OpenedStorage, type RawProbe, type RawRecordRow, type StorageHarness } from './storage-contract';
