CREATE OR REPLACE FUNCTION public.twin_iaqi(parameter text, value double precision)
 RETURNS integer
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
AS $function$
DECLARE
    bp double precision[];
    idx integer[] := ARRAY[0, 50, 100, 150, 200, 300, 400, 500];
BEGIN
    bp := CASE parameter
        WHEN 'pm25' THEN ARRAY[0, 35, 75, 115, 150, 250, 350, 500]
        WHEN 'pm10' THEN ARRAY[0, 50, 150, 250, 350, 420, 500, 600]
        WHEN 'so2'  THEN ARRAY[0, 50, 150, 475, 800, 1600, 2100, 2620]
        WHEN 'no2'  THEN ARRAY[0, 40, 80, 180, 280, 565, 750, 940]
        WHEN 'co'   THEN ARRAY[0, 2, 4, 14, 24, 36, 48, 60]
        WHEN 'o3'   THEN ARRAY[0, 160, 200, 300, 400, 800, 1000, 1200]
    END;
    IF bp IS NULL OR value IS NULL THEN
        RETURN NULL;
    END IF;
    FOR i IN 1..7 LOOP
        IF value < bp[i + 1] THEN
            RETURN ceil((idx[i + 1] - idx[i]) * (greatest(value, 0) - bp[i])
                        / (bp[i + 1] - bp[i]) + idx[i]);
        END IF;
    END LOOP;
    RETURN 500;
END $function$;
