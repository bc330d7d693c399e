import { createHash } from 'node:crypto';
import { siteInfoForRemote, type SiteId, type SiteInfo, type Topology } from '@sitesync/domain';

/**
 * The version of the topology each site is told (`siteInfoForRemote`), computed once per topology
 * the central loads (the topology cache hands out one object per stored version) and kept as a
 * short digest only: a cycle of a site whose topology did not change costs no encoding of it. The
 * version is a digest of the content, not the stored version number, so it means the same in every
 * central process and after the central's database is restored.
 */
export class SiteInfoVersions {
  private readonly byTopology = new WeakMap<Topology, Map<SiteId, string>>();

  /** The site info to answer: without `topology` when the site holds `held`, the current version. */
  answer(topology: Topology, siteId: SiteId, held: string | undefined): SiteInfo & { readonly topologyVersion: string } {
    let versions = this.byTopology.get(topology);
    if (!versions) this.byTopology.set(topology, (versions = new Map()));
    const known = versions.get(siteId);
    // the site holds this very topology: none of it is made, only the rest of the info
    if (known !== undefined && known === held) return { ...siteInfoForRemote(topology, siteId, undefined, { withTopology: false }), topologyVersion: known };
    const { topology: told, ...rest } = siteInfoForRemote(topology, siteId);
    const version = known ?? digest(told);
    versions.set(siteId, version);
    return version === held || told === undefined ? { ...rest, topologyVersion: version } : { ...rest, topology: told, topologyVersion: version };
  }
}

function digest(value: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(value ?? null), 'utf8')
    .digest('base64url')
    .slice(0, 22);
}
