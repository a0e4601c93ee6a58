.PHONY: help dev dev-page test bench lint build deploy deploy-first

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

dev: ## Run the service on http://127.0.0.1:4000 (moto + HeyGen simulator; no AWS, no Docker)
	./scripts/dev.sh

dev-page: ## The page make dev serves at /, checked in headless Chromium during a demo month (installs Debian's chromium)
	./scripts/dev-page.sh

test: ## All set-up, fmt, clippy, lint, every test, and a make-dev smoke run
	./scripts/test.sh

bench: ## Release binaries beside a hello-world floor under the Lambda Runtime API; writes BENCHMARKS.md (minutes)
	./scripts/bench.sh

lint: ## cfn-lint and sam validate --lint on template.yaml; openapi.yaml validated; unused dependencies (cargo-machete)
	./scripts/lint.sh

build: ## sam build: release arm64 binaries through cargo-lambda
	./scripts/sam.sh build

deploy-first: ## sam deploy --guided, once per account (DEPLOY_ENV names it); answers saved to samconfig.deploy.toml
	./scripts/sam.sh deploy-first

deploy: ## sam deploy with the answers deploy-first saved (DEPLOY_ENV, default "default"); not guided
	./scripts/sam.sh deploy
