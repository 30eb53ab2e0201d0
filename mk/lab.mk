# mk/lab.mk - the build every lab shares.
#
# A lab's Makefile is the lab's one declaration (the grader and its tests read it too): it
# sets these, then includes this file:
#   LAB        the lab's folder name, e.g. 01_udp_send
#   STUDENT    the files a student edits, e.g. src/udp_send.c
#   PROVIDED   other library sources of the lab (optional)
#   PROGRAMS   the provided programs; program P is built from src/P_main.c
#   LDLIBS     extra libraries (optional), e.g. -lcjson
#   API_POINTS what each Criterion test is worth to the grader, e.g. `0.5` or `0.5 SUITE=1`
#   ALSO_BUILD targets the grader builds after the programs, graded by the lab's checks
#   TEST_AFTER a target `make test` runs after the Criterion tests (optional; not when
#              TEST_FLAGS has a --filter: a student testing one step is not done yet)
# Only the forms `NAME := words` and `NAME += words` are used, so that the grader can read
# the declaration without running make.
#
#   make                 build the programs into build/
#   make test            build and run the Criterion tests on your file
#   make test SOLUTION=1 the same on the reference solution (build/solution/)
#   make test SAN=1      the same under AddressSanitizer + UBSan
#   make grade           grade your file with the grader
#   make clean

ROOT   := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
# The grader's interpreter, named in one place: its shebang. Expanded only where a recipe
# uses it (`=`): the grader's build copies of a lab have no grader/ beside them.
PYTHON = $(shell sed -n '1s/^#! *//p' $(ROOT)/grader/grade)
COMMON := $(ROOT)/labs/common

# The contract's flags: never weaker than these.
STD_FLAGS := -std=c17 -D_DEFAULT_SOURCE -Wall -Wextra -Werror
CFLAGS    ?= -g -O2
CPPFLAGS  += -Iinclude -I$(COMMON)/include
LDLIBS    += -lpthread

ifeq ($(SOLUTION),1)
  OUT     := build/solution
  STUDENT_SRC := $(addprefix $(ROOT)/solutions/$(LAB)/,$(STUDENT))
else
  OUT     := build
  STUDENT_SRC := $(STUDENT)
endif
ifeq ($(SAN),1)
  OUT     := $(OUT)/asan
  CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS += -fsanitize=address,undefined
endif

# A test that hangs is killed after this many seconds (each test may set a shorter .timeout).
TEST_TIMEOUT ?= 10
# Tests at once: most of a test's time is spent waiting (for a peer, a timeout), not
# computing, so more than the cores. TEST_FLAGS comes after it and may say -jN.
TEST_JOBS    ?= 4
TEST_FLAGS   ?=

LIB_SRC   := $(STUDENT_SRC) $(PROVIDED) $(wildcard $(COMMON)/src/*.c)
MAIN_SRC  := $(PROGRAMS:%=src/%_main.c)
TEST_SRC  := $(wildcard tests/*.c) $(wildcard $(COMMON)/tests/*.c)
obj_of     = $(OUT)/obj/$(notdir $(1:.c=.o))
LIB_OBJ   := $(foreach s,$(LIB_SRC),$(call obj_of,$(s)))
TEST_OBJ  := $(foreach s,$(TEST_SRC),$(OUT)/obj/test_$(notdir $(s:.c=.o)))
PROG_BIN  := $(addprefix $(OUT)/,$(PROGRAMS))
HEADERS   := $(wildcard include/*.h $(COMMON)/include/*.h tests/*.h $(COMMON)/tests/*.h)
TEST_CPPFLAGS := -Itests -I$(COMMON)/tests

# One explicit rule per source: the student's file and the solution share a name.
define compile
$(2): $(1) $(HEADERS) | $(OUT)/obj
	$$(CC) $$(STD_FLAGS) $$(CPPFLAGS) $(3) $$(CFLAGS) -c $$< -o $$@
endef
$(foreach s,$(LIB_SRC) $(MAIN_SRC),$(eval $(call compile,$(s),$(call obj_of,$(s)))))
$(foreach s,$(TEST_SRC),$(eval $(call compile,$(s),$(OUT)/obj/test_$(notdir $(s:.c=.o)),$$(TEST_CPPFLAGS))))

.PHONY: all tests test grade clean help
.DEFAULT_GOAL := all

all: $(PROG_BIN)

tests: $(OUT)/tests

ifeq ($(SAN),1)
# A leak report in a Criterion worker does not fail its test, so the log is searched for one.
test: $(OUT)/tests
	@$(OUT)/tests --timeout $(TEST_TIMEOUT) --jobs $(TEST_JOBS) $(TEST_FLAGS) >$(OUT)/test.log 2>&1; status=$$?; \
	cat $(OUT)/test.log; \
	if grep -q 'ERROR: LeakSanitizer' $(OUT)/test.log; then echo 'test: memory leaked (see above)'; exit 1; fi; \
	exit $$status
else
test: $(OUT)/tests
	$(OUT)/tests --timeout $(TEST_TIMEOUT) --jobs $(TEST_JOBS) $(TEST_FLAGS)
	$(if $(and $(TEST_AFTER),$(if $(findstring --filter,$(TEST_FLAGS)),,all)),@$(MAKE) --no-print-directory $(TEST_AFTER))
endif

grade:
	$(ROOT)/grader/grade --lab $(LAB) .

help:
	@echo "make                 build the programs into $(OUT)/"
	@echo "make test            run the Criterion tests on your $(STUDENT)"
	@echo "make test SOLUTION=1 run them on the reference solution"
	@echo "make test SAN=1      run them under AddressSanitizer + UBSan"
	@echo "make grade           grade your files as the grader will"
	@echo "make clean           remove build/"

$(OUT)/%: $(OUT)/obj/%_main.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(OUT)/tests: $(TEST_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) $^ -o $@ -lcriterion $(LDLIBS)

$(OUT)/obj:
	mkdir -p $@

clean:
	rm -rf build
