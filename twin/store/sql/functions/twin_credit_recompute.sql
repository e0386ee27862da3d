CREATE OR REPLACE FUNCTION public.twin_credit_recompute(at timestamp with time zone)
 RETURNS integer
 LANGUAGE plpgsql
AS $function$
DECLARE
    n integer;
BEGIN
    -- Every household's 三治信用 level from its points earned and the thresholds in force
    -- (NULL below A); the ledger is only read.
    WITH t AS (SELECT level, min_earned, version FROM credit_levels WHERE valid_to IS NULL)
    INSERT INTO household_credit AS hc (household_id, level, earned, levels_version,
                                        computed_at, microgrid_id, grid_id, village_id, town_id)
    SELECT hp.household_id,
           (SELECT t.level FROM t WHERE t.min_earned <= hp.earned
             ORDER BY t.min_earned DESC LIMIT 1),
           hp.earned, (SELECT max(t.version) FROM t), at,
           hp.microgrid_id, hp.grid_id, hp.village_id, hp.town_id
      FROM household_points hp
    ON CONFLICT (household_id) DO UPDATE
       SET level = EXCLUDED.level, earned = EXCLUDED.earned,
           levels_version = EXCLUDED.levels_version, computed_at = EXCLUDED.computed_at;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $function$;
