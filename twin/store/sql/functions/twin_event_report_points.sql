CREATE OR REPLACE FUNCTION public.twin_event_report_points()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM twin_report_points(ARRAY[NEW.id], 'system');
    RETURN NULL;
END $function$;
