-- The peer's schema: one function answering hverdag's near-me benchmark query exactly
-- (bench/peer.py checks the answers agree before timing). PostGraphile 5 exposes this schema
-- alone. Same plan as hverdag's statement (geo/queries/nearby.py): the KNN scan of the
-- (category, geom) GiST index with the equality filters inside and the radius outside the
-- limit; plpgsql with custom plans (a generic plan of a parameterised LIMIT can scan far more),
-- JIT off (as hverdag's connections), and the point transformed once per call.
DROP SCHEMA IF EXISTS bench_peer CASCADE;
CREATE SCHEMA bench_peer;

CREATE TYPE bench_peer.near_place AS (
  row_id bigint,
  title text,
  category text,
  lat double precision,
  lon double precision,
  distance_meters double precision
);

CREATE FUNCTION bench_peer.near_me(
  lat double precision,
  lon double precision,
  cat text,
  radius_meters double precision DEFAULT 5000,
  max_results integer DEFAULT 20,
  -- hverdag's staleness line (HVERDAG_STALE_AFTER_DAYS, 180): at equal distance fresh first
  stale_before timestamptz
    DEFAULT (date_trunc('day', now() AT TIME ZONE 'UTC') - interval '180 days') AT TIME ZONE 'UTC'
) RETURNS SETOF bench_peer.near_place
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET plan_cache_mode = force_custom_plan
SET jit = off
AS $$
DECLARE
  point geometry := ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4326), 25833);
BEGIN
  RETURN QUERY
  SELECT a.id, a.title::text, a.category::text,
         ST_Y(w.geom), ST_X(w.geom), nearest.distance
  FROM (
    SELECT activity.id AS hit_id, activity.geom <-> point AS distance,
           activity.last_verified_at < stale_before AS stale
    FROM public.activity
    WHERE activity.archived_at IS NULL AND activity.status = 'ACTIVE'
      AND activity.category = cat
    ORDER BY activity.geom <-> point
    FETCH FIRST max_results ROWS WITH TIES
  ) AS nearest
  JOIN public.activity a ON a.id = nearest.hit_id
  CROSS JOIN LATERAL (SELECT ST_Transform(a.geom, 4326) AS geom) AS w
  WHERE nearest.distance <= radius_meters
  ORDER BY nearest.distance, nearest.stale, nearest.hit_id
  LIMIT max_results;
END
$$;
