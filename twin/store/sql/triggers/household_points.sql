CREATE OR REPLACE TRIGGER household_points_guard BEFORE INSERT OR DELETE OR UPDATE ON public.household_points FOR EACH ROW EXECUTE FUNCTION twin_points_guard();
