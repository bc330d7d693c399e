import type { Result } from './result';
import type { SiteId } from './site';
import { buildTopology, type Topology, type TopologyViolation } from './topology';

/**
 * Moves the primary role to another existing site (seed 002, "Mirrored sync": the primary may be
 * the central or one remote site). The network's centralised procurement preference moves with the
 * role; the old primary then follows it like any satellite. Refused by the topology rules when the
 * new primary does not hold every store (a collector or transfer copy of each).
 */
export function movePrimaryRole(topology: Topology, siteId: SiteId): Result<Topology, readonly TopologyViolation[]> {
  // an unknown site: the same refusal as any other change of it
  if (!topology.site(siteId)) return topology.updateSite(siteId, {});
  const old = topology.primary;
  if (old.id === siteId) return topology.updateSite(siteId, {});
  const network = old.centralisedProcurement ?? null;
  return buildTopology({
    sites: topology.sites.map((s) => {
      if (s.id === siteId) return { ...s, roles: [...s.roles, 'primary' as const], centralisedProcurement: network };
      if (s.id === old.id) return { ...s, roles: s.roles.filter((r) => r !== 'primary'), centralisedProcurement: null };
      return s;
    }),
    stores: topology.stores,
  });
}
