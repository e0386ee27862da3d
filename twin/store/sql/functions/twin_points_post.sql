CREATE OR REPLACE FUNCTION public.twin_points_post()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    -- The balances follow the ledger, one statement at a time (a COPY of a year of entries
    -- is one write per household). A balance below zero is a check violation: the whole
    -- statement, and the transaction that made it, is undone. Households that have a
    -- balance are updated first: an upsert checks its proposed row (a redemption's negative
    -- sum) before it finds the conflict.
    WITH s AS (
        SELECT n.household_id, sum(n.points)::int AS points,
               coalesce(sum(n.points) FILTER (WHERE n.source <> 'redemption'), 0)::int AS earned,
               count(*)::int AS entries, max(n.at) AS last_at,
               min(n.microgrid_id) AS microgrid_id, min(n.grid_id) AS grid_id,
               min(n.village_id) AS village_id, min(n.town_id) AS town_id
          FROM new_rows n GROUP BY n.household_id
    ), updated AS (
        UPDATE household_points hp
           SET balance = hp.balance + s.points, earned = hp.earned + s.earned,
               entries = hp.entries + s.entries, last_at = greatest(hp.last_at, s.last_at)
          FROM s WHERE hp.household_id = s.household_id
        RETURNING hp.household_id
    )
    INSERT INTO household_points AS hp (household_id, balance, earned, entries, last_at,
                                        microgrid_id, grid_id, village_id, town_id)
    SELECT s.household_id, s.points, s.earned, s.entries, s.last_at,
           s.microgrid_id, s.grid_id, s.village_id, s.town_id
      FROM s WHERE s.household_id NOT IN (SELECT household_id FROM updated)
    ON CONFLICT (household_id) DO UPDATE   -- a first entry written at the same moment
       SET balance = hp.balance + EXCLUDED.balance, earned = hp.earned + EXCLUDED.earned,
           entries = hp.entries + EXCLUDED.entries,
           last_at = greatest(hp.last_at, EXCLUDED.last_at);
    RETURN NULL;
END $function$;
