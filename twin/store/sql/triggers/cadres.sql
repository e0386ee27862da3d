CREATE OR REPLACE TRIGGER cadres_cell BEFORE INSERT OR UPDATE OF unit_id ON public.cadres FOR EACH ROW EXECUTE FUNCTION twin_cell_from_unit('unit_id');
