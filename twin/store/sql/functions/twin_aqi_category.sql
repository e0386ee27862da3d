CREATE OR REPLACE FUNCTION public.twin_aqi_category(aqi integer)
 RETURNS integer
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT CASE WHEN aqi IS NULL THEN NULL WHEN aqi <= 50 THEN 1 WHEN aqi <= 100 THEN 2
                WHEN aqi <= 150 THEN 3 WHEN aqi <= 200 THEN 4 WHEN aqi <= 300 THEN 5
                ELSE 6 END
$function$;
