CREATE OR REPLACE TRIGGER points_ledger_append_only BEFORE DELETE OR UPDATE ON public.points_ledger FOR EACH ROW EXECUTE FUNCTION twin_append_only();
CREATE OR REPLACE TRIGGER points_ledger_cell BEFORE INSERT ON public.points_ledger FOR EACH ROW EXECUTE FUNCTION twin_cell_from_household();
CREATE OR REPLACE TRIGGER points_ledger_post AFTER INSERT ON public.points_ledger REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION twin_points_post();
