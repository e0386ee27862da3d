CREATE OR REPLACE FUNCTION public.twin_water_class(parameter text, value double precision)
 RETURNS integer
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
AS $function$
DECLARE
    limits double precision[];
BEGIN
    limits := CASE parameter
        WHEN 'do'    THEN ARRAY[7.5, 6, 5, 3, 2]
        WHEN 'codmn' THEN ARRAY[2, 4, 6, 10, 15]
        WHEN 'cod'   THEN ARRAY[15, 15, 20, 30, 40]
        WHEN 'bod5'  THEN ARRAY[3, 3, 4, 6, 10]
        WHEN 'nh3n'  THEN ARRAY[0.15, 0.5, 1.0, 1.5, 2.0]
        WHEN 'tp'    THEN ARRAY[0.02, 0.1, 0.2, 0.3, 0.4]
    END;
    IF limits IS NULL OR value IS NULL THEN
        RETURN NULL;
    END IF;
    FOR i IN 1..5 LOOP
        IF (parameter = 'do' AND value >= limits[i]) OR (parameter <> 'do' AND value <= limits[i])
        THEN
            RETURN i;
        END IF;
    END LOOP;
    RETURN 6;
END $function$;
