# socklab - a socket-programming lab suite with a grader. `make help` lists the targets.

# The grader's interpreter is chosen in one place, its shebang: Debian's python3, which has
# Debian's pytest (a pyenv python3 earlier on PATH may have neither pytest nor an index).
PYTHON := $(shell sed -n '1s/^#! *//p' grader/grade)
LABS   := $(patsubst %/Makefile,%,$(sort $(wildcard labs/[0-9]*/Makefile)))
# Run the Criterion tests with fewer workers than cores: some tests measure timeouts.
CHECK_JOBS ?= 2

.PHONY: help deps all test check check-labs check-grader grade demo tables bench soak gradescope clean

help:
	@echo "make demo    install what is missing, grade the example submissions, print the report"
	@echo "make check   install what is missing, run the whole test suite"
	@echo "make test    run every lab's Criterion tests on the student files in labs/"
	@echo "make grade   grade the student files in labs/ as the grader will"
	@echo "make deps    install the Debian packages the project needs (apt-get)"
	@echo "make all     build every lab's programs"
	@echo "make tables  regenerate the points table of every lab's README from the grader"
	@echo "make bench   measure speed (bench/run): lab tests, grading, a batch, throughput"
	@echo "make soak    grade every fixture 20 times under load; report any verdict that changed"
	@echo "make gradescope [LAB=NN_name]  build build/autograder.zip for Gradescope (every lab by default)"
	@echo "make clean   remove every build folder"

deps:
	@sh mk/deps.sh

bench: deps
	@bench/run

soak: deps
	@bench/soak

all:
	@for lab in $(LABS); do $(MAKE) --no-print-directory -C $$lab all || exit 1; done

test:
	@status=0; for lab in $(LABS); do $(MAKE) --no-print-directory -C $$lab test || status=1; done; exit $$status

check: deps
	@$(MAKE) --no-print-directory check-labs
	@$(MAKE) --no-print-directory check-grader

# Every lab's tests against its reference solution, plain and under ASan + UBSan.
check-labs:
	@for lab in $(LABS); do \
	  $(MAKE) --no-print-directory -C $$lab test SOLUTION=1 TEST_FLAGS=-j$(CHECK_JOBS) || exit 1; \
	  $(MAKE) --no-print-directory -C $$lab test SOLUTION=1 SAN=1 TEST_FLAGS=-j$(CHECK_JOBS) || exit 1; \
	done

check-grader:
	$(PYTHON) -m pytest -p no:cacheprovider grader/tests

grade:
	grader/grade labs

demo: deps
	grader/grade --batch examples -o build/demo --force
	@echo
	@cat build/demo/report.txt
	@echo
	@echo "Per-check feedback, as a student sees it: grader/grade examples/sam"
	@echo "The class report: build/demo/report.html; the gradebook: build/demo/grades.csv"

# Each lab README's points table is generated from the grader's checks (a test compares them).
tables:
	cd grader && $(PYTHON) -m socklab_grader.tables

# Gradescope's autograder package: setup.sh, run_autograder and the grader (docs/grader.md).
GRADESCOPE_ZIP ?= build/autograder.zip
gradescope:
	cd grader && $(PYTHON) -m socklab_grader.gradescope $(addprefix --lab ,$(LAB)) -o $(abspath $(GRADESCOPE_ZIP))

clean:
	@for lab in $(LABS); do $(MAKE) --no-print-directory -C $$lab clean; done
	rm -rf build
