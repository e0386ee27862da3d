CREATE OR REPLACE TRIGGER stations_cell BEFORE INSERT OR UPDATE OF geom ON public.stations FOR EACH ROW EXECUTE FUNCTION twin_assign_cell();
CREATE OR REPLACE TRIGGER stations_count_del AFTER DELETE ON public.stations REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION twin_unit_counts('VALUES (''stations'', 1.0)');
CREATE OR REPLACE TRIGGER stations_count_ins AFTER INSERT ON public.stations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION twin_unit_counts('VALUES (''stations'', 1.0)');
CREATE OR REPLACE TRIGGER stations_count_trunc AFTER TRUNCATE ON public.stations FOR EACH STATEMENT EXECUTE FUNCTION twin_unit_counts('VALUES (''stations'', 1.0)');
CREATE OR REPLACE TRIGGER stations_count_upd AFTER UPDATE ON public.stations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION twin_unit_counts('VALUES (''stations'', 1.0)');
CREATE OR REPLACE TRIGGER stations_version AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.stations FOR EACH STATEMENT EXECUTE FUNCTION twin_bump_version('stations');
