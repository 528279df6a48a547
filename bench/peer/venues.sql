-- The peer's venue list (bench/peer.py --shape venues): the answer of
-- municipality(number) { venues(first: 50) { edges { node { id name priceModel
-- availability { weekday from to } } } } } in one call. Installed after near_me.sql, into its
-- schema. Same plan as hverdag's (geo/queries/listing.py first_rows_per_group over the
-- municipality's live venues, by name then id, row_number and the group's count over the
-- partition; then the page's availability windows by venue, weekday, start), with only the
-- columns the answer needs. Null (no rows) when the municipality is not loaded, as hverdag's
-- `municipality` is null. PostGraphile exposes each venue's windows as three parallel lists.
CREATE TYPE bench_peer.listed_venue AS (
  row_id bigint,
  name text,
  price_model text,
  weekdays smallint[],
  starts text[],
  ends text[]
);

CREATE FUNCTION bench_peer.municipality_venues(number text, max_results integer DEFAULT 50)
RETURNS SETOF bench_peer.listed_venue
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET plan_cache_mode = force_custom_plan
SET jit = off
AS $$
#variable_conflict use_variable
BEGIN
  RETURN QUERY
  SELECT ranked.id, ranked.name, ranked.price_model,
         coalesce(w.weekdays, '{}'), coalesce(w.starts, '{}'), coalesce(w.ends, '{}')
  FROM (
    SELECT v.id, v.name, v.price_model,
           row_number() OVER (PARTITION BY v.municipality_number ORDER BY v.name, v.id) AS rank,
           count(*) OVER (PARTITION BY v.municipality_number) AS group_total
    FROM public.venue v
    WHERE v.municipality_number = number::bpchar AND v.archived_at IS NULL
      AND EXISTS (SELECT FROM public.municipality m
                  WHERE m.number = number::bpchar AND m.archived_at IS NULL)
  ) AS ranked
  LEFT JOIN LATERAL (
    SELECT array_agg(a.weekday ORDER BY a.weekday, a.starts) AS weekdays,
           array_agg(CAST(a.starts AS text) ORDER BY a.weekday, a.starts) AS starts,
           array_agg(CAST(a.ends AS text) ORDER BY a.weekday, a.starts) AS ends
    FROM public.venue_availability a
    WHERE a.venue_id = ranked.id
  ) AS w ON true
  WHERE ranked.rank <= max_results
  ORDER BY ranked.rank;
END
$$;
