CREATE OR REPLACE FUNCTION public.twin_station_latest()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    INSERT INTO station_latest (town_id, station_id, parameter, observed_at, value)
    SELECT DISTINCT ON (station_id, parameter) town_id, station_id, parameter, observed_at,
           value
      FROM new_rows
     ORDER BY station_id, parameter, observed_at DESC
    ON CONFLICT (station_id, parameter) DO UPDATE
       SET observed_at = EXCLUDED.observed_at, value = EXCLUDED.value
     WHERE station_latest.observed_at <= EXCLUDED.observed_at;
    RETURN NULL;
END $function$;
