CREATE OR REPLACE FUNCTION public.twin_compact_guard()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    -- A compact's version is history: only its end (valid_to) may be set, once.
    IF TG_OP = 'DELETE' OR OLD.valid_to IS NOT NULL
       OR (to_jsonb(NEW) - 'valid_to') <> (to_jsonb(OLD) - 'valid_to') THEN
        RAISE EXCEPTION 'compacts: version % of unit % is adopted history: adopt a new version instead',
            OLD.version, OLD.unit_id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $function$;
