"""Apache Kafka broker jars from Maven Central, resolved once into a cache under HOME.

No Docker engine or tarball download is needed: a tiny generated ``pom.xml`` (packaging
``pom``) lists the broker, the tools and log4j2, and ``mvn dependency:copy-dependencies``
copies the runtime closure into ``<cache>/kafka-<version>/lib``. A marker file makes the
next call a no-op; a file lock keeps two processes from resolving at the same time.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from g3n_devstack.paths import cache_dir

DEFAULT_KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.24.3"
SLF4J_VERSION = "2.0.16"
MARKER_NAME = ".complete"

_POM_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.g3n</groupId>
  <artifactId>g3n-kafka-runtime</artifactId>
  <version>{kafka}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>{log4j}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>{slf4j}</version>
    </dependency>
  </dependencies>
</project>
"""

# WARN and above go to the file named by the system property; nothing goes to the console, so
# the broker's stdout stays quiet in `g3n dev up` and in test runs.
LOG4J2_PROPERTIES = """status = warn
name = g3n-kafka
property.logfile = ${sys:g3n.kafka.logfile:-kafka.log}
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${logfile}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.file.ref = FILE
"""


@dataclass(frozen=True)
class KafkaDist:
    """A resolved Kafka runtime: its jar folder and the log4j2 config to run it with."""

    version: str
    home: Path
    lib_dir: Path
    log4j_config: Path

    @property
    def classpath(self) -> str:
        return f"{self.lib_dir}/*"

    def java_command(self, main_class: str, *args: str, jvm_options: Sequence[str] = ()) -> list[str]:
        """``java`` invocation of ``main_class`` on this runtime's classpath.

        ``$G3N_KAFKA_JAVA_OPTS`` (split on spaces) is appended to ``jvm_options``.
        """
        return [
            java_executable(),
            # Two cores and a small heap: the serial collector starts fastest and costs least.
            "-XX:+UseSerialGC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j_config}",
            *jvm_options,
            *os.environ.get("G3N_KAFKA_JAVA_OPTS", "").split(),
            "-cp",
            self.classpath,
            main_class,
            *args,
        ]


def java_executable() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise RuntimeError("java not found: install a JRE 17+ (Debian: openjdk-17-jre-headless)")
    return found


def kafka_version() -> str:
    return os.environ.get("G3N_KAFKA_VERSION", DEFAULT_KAFKA_VERSION)


def ensure_kafka(version: str | None = None, *, quiet: bool = True) -> KafkaDist:
    """Resolve the Kafka jars into the cache unless they already are; return the runtime."""
    version = version or kafka_version()
    home = cache_dir() / f"kafka-{version}"
    lib_dir = home / "lib"
    dist = KafkaDist(version=version, home=home, lib_dir=lib_dir, log4j_config=home / "log4j2.properties")
    if _complete(lib_dir):
        _write_if_changed(dist.log4j_config, LOG4J2_PROPERTIES)
        return dist
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _complete(lib_dir):
            _resolve(version, home, lib_dir, quiet=quiet)
    _write_if_changed(dist.log4j_config, LOG4J2_PROPERTIES)
    return dist


def _complete(lib_dir: Path) -> bool:
    return (lib_dir / MARKER_NAME).is_file()


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _resolve(version: str, home: Path, lib_dir: Path, *, quiet: bool) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("mvn not found: install Maven (Debian: maven) to resolve the Kafka broker")
    pom = home / "pom.xml"
    pom.write_text(_POM_TEMPLATE.format(kafka=version, log4j=LOG4J_VERSION, slf4j=SLF4J_VERSION), "utf-8")
    staging = Path(tempfile.mkdtemp(prefix="lib.", dir=home))
    started = time.monotonic()
    if not quiet:
        print(f"g3n: resolving Apache Kafka {version} jars from Maven Central ...", file=sys.stderr)
    try:
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-Dstyle.color=never",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
                "-DincludeScope=runtime",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=home,
            check=False,
        )
        if result.returncode != 0:
            output = result.stdout.decode(errors="replace").strip()[-4000:]
            raise RuntimeError(f"mvn could not resolve Kafka {version} (exit {result.returncode}):\n{output}")
        jars = sorted(p.name for p in staging.glob("*.jar"))
        if not any(name.startswith("kafka_2.13-") for name in jars):
            raise RuntimeError(f"Maven resolved no kafka_2.13 jar into {staging}")
        (staging / MARKER_NAME).write_text("\n".join(jars) + "\n", encoding="utf-8")
        if lib_dir.exists():
            shutil.rmtree(lib_dir)
        staging.rename(lib_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    if not quiet:
        print(
            f"g3n: Kafka {version}: {len(jars)} jars in {lib_dir} ({time.monotonic() - started:.1f}s)",
            file=sys.stderr,
        )
