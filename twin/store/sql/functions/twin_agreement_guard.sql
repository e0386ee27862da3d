CREATE OR REPLACE FUNCTION public.twin_agreement_guard()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    -- A signed agreement is final: no new version of it may be drafted.
    IF EXISTS (SELECT 1 FROM agreement_signatures s JOIN agreements a ON a.id = s.agreement_id
                WHERE a.dispute_id = NEW.dispute_id) THEN
        RAISE EXCEPTION 'agreements: the agreement of dispute % is signed and cannot change',
            NEW.dispute_id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $function$;
