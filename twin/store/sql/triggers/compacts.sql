CREATE OR REPLACE TRIGGER compacts_history BEFORE DELETE OR UPDATE ON public.compacts FOR EACH ROW EXECUTE FUNCTION twin_compact_guard();
