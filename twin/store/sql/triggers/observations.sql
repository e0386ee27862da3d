CREATE OR REPLACE TRIGGER observations_cell BEFORE INSERT OR UPDATE OF station_id ON public.observations FOR EACH ROW EXECUTE FUNCTION twin_cell_from_station();
CREATE OR REPLACE TRIGGER observations_latest AFTER INSERT ON public.observations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION twin_station_latest();
CREATE OR REPLACE TRIGGER observations_version AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.observations FOR EACH STATEMENT EXECUTE FUNCTION twin_bump_version('observations');
