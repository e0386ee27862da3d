CREATE OR REPLACE FUNCTION public.twin_grade(kind text, aqi integer, water_class integer)
 RETURNS integer
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT CASE kind WHEN 'air' THEN twin_aqi_category(aqi)
                     WHEN 'water' THEN water_class END
$function$;
