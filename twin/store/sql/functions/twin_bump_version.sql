CREATE OR REPLACE FUNCTION public.twin_bump_version()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    UPDATE layer_versions SET version = version + 1, changed_at = now()
     WHERE layer = TG_ARGV[0];
    RETURN NULL;
END $function$;
