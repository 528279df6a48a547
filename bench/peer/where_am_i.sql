-- The peer's whereAmI (bench/peer.py --shape where-am-i): the answer of the contract's whereAmI
-- example (docs/api-examples.graphql: municipality { number name population immigrantShare }
-- county { number name } district { code name } areaInitiatives { id name }) in one call.
-- Installed after near_me.sql, into its schema. Same rules and plans as hverdag's three
-- statements (geo/queries/location.py): each boundary found by its GiST index with ST_Covers on
-- the bare column, the point transformed once; a point on a shared border goes to the lower
-- number; the county is the municipality's (when loaded), else the one covering the point;
-- the statistics are each figure's latest year (geo/queries/municipalities.py); the district
-- is the BYDEL of lowest code; the initiatives by name. PostGraphile exposes the initiatives as
-- two parallel lists (ids, names): one row, one round trip, as hverdag's one request.
CREATE TYPE bench_peer.location AS (
  municipality_number text,
  municipality_name text,
  population integer,
  immigrant_share double precision,
  county_number text,
  county_name text,
  district_code text,
  district_name text,
  initiative_ids bigint[],
  initiative_names text[]
);

CREATE FUNCTION bench_peer.where_am_i(lat double precision, lon double precision)
RETURNS bench_peer.location
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET plan_cache_mode = force_custom_plan
SET jit = off
AS $$
DECLARE
  point geometry := ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4326), 25833);
  answer bench_peer.location;
BEGIN
  SELECT m.number::text, m.name, pop.population,
         imm.immigrants::double precision / NULLIF(pop.population, 0),
         CASE WHEN c.name IS NOT NULL THEN trim(m.county_number) END, c.name
  INTO answer.municipality_number, answer.municipality_name, answer.population,
       answer.immigrant_share, answer.county_number, answer.county_name
  FROM public.municipality m
  LEFT JOIN public.county c ON c.number = m.county_number AND c.archived_at IS NULL
  LEFT JOIN LATERAL (
    SELECT s.population FROM public.municipality_statistics s
    WHERE s.municipality_number = m.number AND s.population IS NOT NULL
    ORDER BY s.year DESC LIMIT 1
  ) pop ON true
  LEFT JOIN LATERAL (
    SELECT s.immigrants FROM public.municipality_statistics s
    WHERE s.municipality_number = m.number AND s.immigrants IS NOT NULL
    ORDER BY s.year DESC LIMIT 1
  ) imm ON true
  WHERE m.archived_at IS NULL AND ST_Covers(m.geom, point)
  ORDER BY m.number
  LIMIT 1;

  IF answer.county_name IS NULL THEN
    SELECT c.number::text, c.name INTO answer.county_number, answer.county_name
    FROM public.county c
    WHERE c.archived_at IS NULL AND ST_Covers(c.geom, point)
    ORDER BY c.number
    LIMIT 1;
  END IF;

  SELECT a.code, a.name INTO answer.district_code, answer.district_name
  FROM public.statistical_area a
  WHERE a.kind = 'BYDEL' AND a.archived_at IS NULL AND ST_Covers(a.geom, point)
  ORDER BY a.code
  LIMIT 1;

  SELECT coalesce(array_agg(i.id ORDER BY i.name), '{}'),
         coalesce(array_agg(i.name ORDER BY i.name), '{}')
  INTO answer.initiative_ids, answer.initiative_names
  FROM public.area_initiative i
  WHERE i.archived_at IS NULL AND ST_Covers(i.geom, point);

  RETURN answer;
END
$$;
