CREATE OR REPLACE TRIGGER consultations_cell BEFORE INSERT OR UPDATE OF geom ON public.consultations FOR EACH ROW EXECUTE FUNCTION twin_assign_cell();
CREATE OR REPLACE TRIGGER consultations_version AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.consultations FOR EACH STATEMENT EXECUTE FUNCTION twin_bump_version('consultations');
