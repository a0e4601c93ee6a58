.PHONY: test

## test: formatting, clippy and every test (installs pinned tools; starts and stops moto)
test:
	./scripts/test.sh
