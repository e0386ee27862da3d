CREATE OR REPLACE TRIGGER legal_places_cell BEFORE INSERT OR UPDATE OF geom ON public.legal_places FOR EACH ROW EXECUTE FUNCTION twin_assign_cell();
CREATE OR REPLACE TRIGGER legal_places_version AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.legal_places FOR EACH STATEMENT EXECUTE FUNCTION twin_bump_version('legal_places');
