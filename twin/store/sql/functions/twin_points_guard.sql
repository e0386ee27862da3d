CREATE OR REPLACE FUNCTION public.twin_points_guard()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    -- household_points is written only by the ledger's trigger (a nested trigger): a
    -- balance is the sum of its household's entries, never set by hand.
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'household_points follows points_ledger: add a ledger entry instead'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $function$;
