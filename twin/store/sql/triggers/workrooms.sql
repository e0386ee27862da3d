CREATE OR REPLACE TRIGGER workrooms_cell BEFORE INSERT OR UPDATE OF geom ON public.workrooms FOR EACH ROW EXECUTE FUNCTION twin_assign_cell();
CREATE OR REPLACE TRIGGER workrooms_count_del AFTER DELETE ON public.workrooms REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION twin_unit_counts('VALUES (''workrooms'', 1.0)');
CREATE OR REPLACE TRIGGER workrooms_count_ins AFTER INSERT ON public.workrooms REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION twin_unit_counts('VALUES (''workrooms'', 1.0)');
CREATE OR REPLACE TRIGGER workrooms_count_trunc AFTER TRUNCATE ON public.workrooms FOR EACH STATEMENT EXECUTE FUNCTION twin_unit_counts('VALUES (''workrooms'', 1.0)');
CREATE OR REPLACE TRIGGER workrooms_count_upd AFTER UPDATE ON public.workrooms REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION twin_unit_counts('VALUES (''workrooms'', 1.0)');
CREATE OR REPLACE TRIGGER workrooms_version AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.workrooms FOR EACH STATEMENT EXECUTE FUNCTION twin_bump_version('workrooms');
