CREATE OR REPLACE TRIGGER organizations_cell BEFORE INSERT OR UPDATE OF geom ON public.organizations FOR EACH ROW EXECUTE FUNCTION twin_assign_cell();
CREATE OR REPLACE TRIGGER organizations_count_del AFTER DELETE ON public.organizations REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION twin_unit_counts('VALUES (''organizations'', 1.0)');
CREATE OR REPLACE TRIGGER organizations_count_ins AFTER INSERT ON public.organizations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION twin_unit_counts('VALUES (''organizations'', 1.0)');
CREATE OR REPLACE TRIGGER organizations_count_trunc AFTER TRUNCATE ON public.organizations FOR EACH STATEMENT EXECUTE FUNCTION twin_unit_counts('VALUES (''organizations'', 1.0)');
CREATE OR REPLACE TRIGGER organizations_count_upd AFTER UPDATE ON public.organizations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION twin_unit_counts('VALUES (''organizations'', 1.0)');
CREATE OR REPLACE TRIGGER organizations_version AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.organizations FOR EACH STATEMENT EXECUTE FUNCTION twin_bump_version('organizations');
