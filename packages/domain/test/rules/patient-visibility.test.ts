import { visibilityOfNewPatient, visibilityOfPrescribers, recordLocalChange, storeAccepted, visibilityContext, type SyncRecord } from '@sitesync/domain';
import { createInMemoryStorage } from '@sitesync/testkit';
import { setup } from './decision-tables';

/** The dispensary setup with a second dispensary store H active on site 3, beside G. */
function twoDispensaries() {
  const result = setup('dispensary').withStore({
    id: 'H',
    name: 'Dispensary H',
    activeSiteId: 3,
    isDispensary: true,
    copies: [
      { siteId: 1, type: 'collector' },
      { siteId: 2, type: 'collector' },
    ],
  });
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  return result.value;
}

describe('seed 002 "Patients": who sees a patient', () => {
  it('a patient created on its home site is made visible in the other dispensary stores active there', async () => {
    const topology = twoDispensaries();
    const patient: SyncRecord = { type: 'patient', id: 'pat-new', patientId: 'p-new', homeStoreId: 'G', data: { name: 'New' } };
    expect(visibilityOfNewPatient(topology, 3, patient).map((r) => [r.type, r.storeId, r.homeStoreId])).toEqual([['new_patient_visibility', 'H', 'G']]);

    const site = createInMemoryStorage();
    const written = await recordLocalChange({ unitOfWork: site }, topology, 3, [patient]);
    expect(written.ok).toBe(true);
    expect(await site.storage.records.get('new_patient_visibility', 'npv-p-new-H')).toMatchObject({ storeId: 'H', patientId: 'p-new' });
    // an edit of the same patient later adds nothing
    await recordLocalChange({ unitOfWork: site }, topology, 3, [{ ...patient, data: { name: 'Renamed' } }]);
    expect((await site.storage.records.list('new_patient_visibility', { limit: 10 })).length).toBe(1);
  });

  it('on the central, that visibility routes the patient to the sites holding H (site 2 has a collector copy)', async () => {
    const topology = twoDispensaries();
    const central = createInMemoryStorage();
    await central.run((s) => s.topology.save(topology));
    const patient: SyncRecord = { type: 'patient', id: 'pat-new', patientId: 'p-new', homeStoreId: 'G', data: {} };
    await central.run((s) => storeAccepted(s, topology, [patient, ...visibilityOfNewPatient(topology, 3, patient)], { sourceSiteId: 3, viaSync: true }));
    const context = await central.run((s) => visibilityContext(s, ['p-new']));
    expect(context.patientVisibleIn?.('p-new')).toEqual(['H']);
  });

  it('a prescriber is shared with the stores where it prescribed: the central writes the visibility and queues its records there', async () => {
    const topology = twoDispensaries();
    const central = createInMemoryStorage();
    const prescriber: SyncRecord = { type: 'prescriber', id: 'dr-1', patientId: 'dr-1', homeStoreId: 'G', data: { name: 'Dr One' } };
    await central.run(async (s) => {
      await s.topology.save(topology);
      await s.records.upsert([prescriber], { sourceSiteId: 3, viaSync: true });
    });
    // a prescription in store B (active on site 2) names the prescriber
    const prescription: SyncRecord = { type: 'prescription', id: 'rx-1', storeId: 'B', data: { prescriberId: 'dr-1' } };
    expect(visibilityOfPrescribers([prescription], {}).map((r) => [r.type, r.storeId, r.patientId])).toEqual([['patient_visibility', 'B', 'dr-1']]);
    await central.run((s) => storeAccepted(s, topology, [prescription], { sourceSiteId: 2, viaSync: true }));
    expect(await central.storage.records.get('patient_visibility', 'prescribed-dr-1-B')).toMatchObject({ storeId: 'B', patientId: 'dr-1' });
    // the prescriber's own record is queued to site 2, which did not hold it before
    expect((await central.storage.resync.read(2, 0n, 10)).map((e) => `${e.type}:${e.id}`)).toEqual(['prescriber:dr-1']);
    // a second prescription there adds nothing
    await central.run((s) => storeAccepted(s, topology, [{ ...prescription, id: 'rx-2' }], { sourceSiteId: 2, viaSync: true }));
    expect(await central.storage.resync.count(2, 0n)).toBe(1);
  });
});
