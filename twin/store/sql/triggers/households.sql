CREATE OR REPLACE TRIGGER households_cell BEFORE INSERT OR UPDATE OF geom ON public.households FOR EACH ROW EXECUTE FUNCTION twin_assign_cell();
CREATE OR REPLACE TRIGGER households_count_del AFTER DELETE ON public.households REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION twin_unit_counts('VALUES (''households'', 1.0)');
CREATE OR REPLACE TRIGGER households_count_ins AFTER INSERT ON public.households REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION twin_unit_counts('VALUES (''households'', 1.0)');
CREATE OR REPLACE TRIGGER households_count_trunc AFTER TRUNCATE ON public.households FOR EACH STATEMENT EXECUTE FUNCTION twin_unit_counts('VALUES (''households'', 1.0)');
CREATE OR REPLACE TRIGGER households_count_upd AFTER UPDATE ON public.households REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION twin_unit_counts('VALUES (''households'', 1.0)');
CREATE OR REPLACE TRIGGER households_in_building BEFORE INSERT OR UPDATE OF geom, building_id ON public.households FOR EACH ROW EXECUTE FUNCTION twin_household_in_building();
CREATE OR REPLACE TRIGGER households_version AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.households FOR EACH STATEMENT EXECUTE FUNCTION twin_bump_version('households');
