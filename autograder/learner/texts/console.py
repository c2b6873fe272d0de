"""Texts of the command line (``cli.*``): what ``python -m autograder`` says to the instructor, help included.

The command line speaks the instructor's language: ``RESNET_COURSE_LANG``, else the locale (``LANG``),
else English (``autograder.learner.i18n.cli_language``). Commands, options, file names and values stay
as they are typed.
"""

TEXTS: dict[str, dict[str, str]] = {
    # --- the program and its commands ---
    "cli.description": {
        "en": "The ResNet course's command line: generate the lessons, build and grade an nbgrader course.",
        "ru": "Командная строка курса по ResNet: генерация занятий, создание курса nbgrader и проверка работ.",
    },
    "cli.error": {"en": "error", "ru": "ошибка"},
    "cli.help.generate": {"en": "rebuild generated files (or check that they are current)",
                          "ru": "пересоздать сгенерированные файлы (или проверить, что они актуальны)"},
    "cli.help.generate.check": {"en": "only report stale files; exit 1 if any",
                                "ru": "только сообщить об устаревших файлах; код выхода 1, если они есть"},
    "cli.help.solve": {"en": "write the solved version of a student notebook",
                       "ru": "записать ноутбук студента с готовыми решениями"},
    "cli.help.solve.notebook": {"en": "a student notebook (notebooks/<lang>/<lesson>.ipynb)",
                                "ru": "ноутбук студента (notebooks/<lang>/<lesson>.ipynb)"},
    "cli.help.solve.output": {"en": "where to write the solved notebook", "ru": "куда записать ноутбук с решениями"},
    "cli.help.course": {"en": "build an nbgrader course (source, release, gradebook) in DIR",
                        "ru": "создать курс nbgrader (source, release, журнал оценок) в папке DIR"},
    "cli.help.course.dir": {"en": "a new or empty folder", "ru": "новая или пустая папка"},
    "cli.help.course.lang": {"en": "language of the course: en or ru", "ru": "язык курса: en или ru"},
    "cli.help.course.id": {"en": "nbgrader's course id (default: DIR's name and a short hash of its path)",
                           "ru": "идентификатор курса в nbgrader (по умолчанию\u00a0— имя папки DIR и короткий "
                                 "хеш её пути)"},
    "cli.help.course.exchange": {
        "en": "nbgrader's exchange folder, shared with the students (may exist and hold other courses; "
              "default: nbgrader's own)",
        "ru": "папка обмена nbgrader, общая со студентами (может уже существовать и содержать другие курсы; "
              "по умолчанию\u00a0— стандартная папка nbgrader)",
    },
    "cli.help.course.late": {
        "en": "score of a submission after the due date: none (kept) or zero (default none)",
        "ru": "оценка работы, сданной после срока: none (баллы сохраняются) или zero (обнуляются); по умолчанию none",
    },
    "cli.help.course.group": {"en": "a group (teaching assistants) that may read the course besides you",
                              "ru": "группа (ассистенты преподавателя), которой, кроме вас, разрешено читать файлы "
                                    "курса"},
    "cli.help.upgrade": {"en": "bring a course built by an older version up to this one",
                         "ru": "обновить курс, созданный прежней версией, до текущей"},
    "cli.help.course_dir": {"en": "a course built by `python -m autograder course`",
                            "ru": "курс, созданный командой `python -m autograder course`"},
    "cli.help.certificates": {"en": "TLS files for grading on a Dask cluster of machines",
                              "ru": "файлы TLS для проверки работ на кластере Dask из нескольких машин"},
    "cli.help.certificates.dir": {"en": "a new folder for the certificates and keys",
                                  "ru": "новая папка для сертификатов и ключей"},
    "cli.help.certificates.days": {"en": "validity in days (default 365)",
                                   "ru": "срок действия в днях (по умолчанию 365)"},
    "cli.help.grade": {"en": "autograde DIR/submitted, then feedback, grades.csv and a report",
                       "ru": "автоматически проверить работы в DIR/submitted, затем подготовить обратную связь, "
                             "grades.csv и отчёт"},
    "cli.help.quiet": {"en": "no progress bar", "ru": "без индикатора хода проверки"},
    "cli.help.demo": {"en": "build a course, add three sample students, grade them",
                      "ru": "создать курс, добавить работы трёх вымышленных студентов и проверить их"},
    "cli.help.demo.out": {"en": "folder of the demo course (default ./demo-course)",
                          "ru": "папка демонстрационного курса (по умолчанию ./demo-course)"},
    "cli.help.demo.lang": {"en": "language of the demo course (default en)",
                           "ru": "язык демонстрационного курса (по умолчанию en)"},
    "cli.help.jobs": {"en": "local Dask workers grading in parallel (default 1)",
                      "ru": "число локальных исполнителей Dask для параллельной проверки (по умолчанию 1)"},
    "cli.help.memory": {"en": "kill a learner's kernel above this memory (default 6G; 0: none)",
                        "ru": "принудительно завершить ядро студента, если оно займёт больше указанного объёма памяти "
                              "(по умолчанию 6G; 0\u00a0— без ограничения)"},
    "cli.help.time": {
        "en": "stop a submission's kernel after this many seconds; its points so far are kept (default {seconds})",
        "ru": "остановить ядро, в котором проверяется работа, через указанное число секунд; набранные к этому моменту "
              "баллы сохраняются (по умолчанию {seconds})",
    },
    "cli.help.disk": {"en": "bytes one submission's grading may write (default 1G; memory-backed)",
                      "ru": "объём данных, который может записать проверка одной работы (по умолчанию 1G; размещается "
                            "в оперативной памяти)"},
    "cli.help.files": {"en": "files kept of what a submission's code writes (default {files})",
                       "ru": "сколько файлов из записанных кодом работы сохранять (по умолчанию {files})"},
    "cli.help.scheduler": {"en": "grade on an existing Dask cluster (TLS) instead of --jobs local workers",
                           "ru": "проверять на уже запущенном кластере Dask (TLS) вместо локальных исполнителей "
                                 "--jobs"},
    "cli.help.tls_ca": {"en": "with --scheduler: the cluster's certificate authority",
                        "ru": "вместе с --scheduler: сертификат удостоверяющего центра (CA) кластера"},
    "cli.help.tls_cert": {"en": "with --scheduler: this grader's certificate",
                          "ru": "вместе с --scheduler: сертификат этого проверяющего процесса"},
    "cli.help.tls_key": {"en": "with --scheduler: this grader's private key",
                         "ru": "вместе с --scheduler: закрытый ключ этого проверяющего процесса"},
    "cli.help.dashboard": {"en": "serve Dask's dashboard (needs bokeh; every user of this machine can open it)",
                           "ru": "запустить панель мониторинга Dask (нужен bokeh; открыть её сможет любой пользователь "
                                 "этой машины)"},
    "cli.help.no_sandbox": {"en": "run learners' kernels without the bubblewrap sandbox (trusted code only)",
                            "ru": "запускать ядра студентов без песочницы bubblewrap (только для доверенного кода)"},
    # --- what the commands say ---
    "cli.stale": {"en": "stale: {item}", "ru": "устарело: {item}"},
    "cli.wrote": {"en": "wrote {path}", "ru": "записано: {path}"},
    "cli.not_a_memory_size": {"en": "not a memory size: {value!r} (examples: 4G, 512M)",
                              "ru": "неверный объём памяти: {value!r} (примеры: 4G, 512M)"},
    "cli.unknown_language": {"en": "unknown language {value!r}: choose one of {choices}",
                             "ru": "неизвестный язык {value!r}; допустимые значения: {choices}"},
    "cli.course_ready": {"en": "course {course_id!r} ready in {root}",
                         "ru": "курс {course_id!r} создан в папке {root}"},
    "cli.course_release": {
        "en": "  release/ holds the notebooks to hand out; late submissions: penalty {penalty!r}",
        "ru": "  в release/\u00a0— ноутбуки для выдачи студентам; штраф за опоздание: {penalty!r}",
    },
    "cli.course_exchange": {
        "en": "  exchange: {exchange} — in {root}: nbgrader release_assignment LESSON, later nbgrader collect LESSON",
        "ru": "  папка обмена: {exchange}; в папке {root} выполните nbgrader release_assignment LESSON, а позже\u00a0— "
              "nbgrader collect LESSON",
    },
    "cli.course_students_config": {
        "en": "  students' config: {path} (into their ~/.jupyter/ or the hub's /etc/jupyter/)",
        "ru": "  конфигурация для студентов: {path} (скопируйте её в их ~/.jupyter/ или в /etc/jupyter/ на хабе)",
    },
    "cli.course_submitted": {"en": "  put submissions in submitted/<student>/<lesson>/ (nbgrader collect does this)",
                             "ru": "  работы помещайте в submitted/<student>/<lesson>/ (это делает nbgrader collect)"},
    "cli.course_then": {"en": "  then: python -m autograder grade {dir}",
                        "ru": "  затем: python -m autograder grade {dir}"},
    "cli.outputs": {"en": "grades: {grades}\nfeedback: {feedback}\nreport: {report}\nfor the LMS: {lms}",
                    "ru": "оценки: {grades}\nобратная связь: {feedback}\nотчёт: {report}\nдля LMS: {lms}"},
    "cli.upgraded": {"en": "upgraded: {change}", "ru": "обновлено: {change}"},
    "cli.up_to_date": {"en": "{root} is up to date", "ru": "{root}: обновление не требуется"},
    "cli.upgrade_config": {
        "en": "nbgrader_config.py rewritten for configuration {version} (the old one is {backup}; restart "
              "formgrader's server to use it)",
        "ru": "nbgrader_config.py переписан для конфигурации версии {version} (прежний файл\u00a0— {backup}; чтобы "
              "formgrader начал её использовать, перезапустите его сервер)",
    },
    "cli.upgrade_private": {"en": "the course folder is now readable by you only",
                            "ru": "папку курса теперь можете читать только вы"},
    "cli.upgrade_private_group": {"en": "the course folder is now readable by you and the group {group} only",
                                  "ru": "папку курса теперь можете читать только вы и группа {group}"},
    "cli.certificates_written": {
        "en": "wrote {names} in {folder}\n  every scheduler, worker and grader: --tls-ca-file ca.pem --tls-cert "
              "cluster.pem --tls-key cluster-key.pem\n  (cluster-key.pem is secret: copy it only to the accounts "
              "that run them; ca-key.pem stays here)",
        "ru": "в {folder} записаны файлы {names}\n  для каждого планировщика, исполнителя и проверяющего процесса: "
              "--tls-ca-file ca.pem --tls-cert cluster.pem --tls-key cluster-key.pem\n  (cluster-key.pem\u00a0— "
              "секретный ключ: копируйте его только в учётные записи, от имени которых они работают; ca-key.pem "
              "остаётся здесь)",
    },
    "cli.sandbox_none": {
        "en": "sandbox: NONE (--no-sandbox): learners' code runs with your rights and sees your files",
        "ru": "песочница: НЕТ (--no-sandbox): код студентов выполняется с вашими правами и видит ваши файлы",
    },
    "cli.sandbox_workers": {"en": "sandbox: bubblewrap, on every Dask worker",
                            "ru": "песочница: bubblewrap, на каждом исполнителе Dask"},
    "cli.sandbox_local": {
        "en": "sandbox: {version} — each kernel sees only its own folder, no network, no other process",
        "ru": "песочница: {version}\u00a0— каждое ядро видит только свою папку, не имеет доступа к сети и не видит "
              "других процессов",
    },
    "cli.demo_unsandboxed": {"en": "warning: grading the demo WITHOUT a sandbox — {reason}",
                             "ru": "внимание: демонстрационный курс проверяется БЕЗ песочницы\u00a0— {reason}"},
    "cli.demo_course": {"en": "demo course in {root}; grading three sample students…",
                        "ru": "демонстрационный курс в {root}; проверяются работы трёх вымышленных студентов…"},
    "cli.grading": {"en": "grading {count:plural:# submission|# submissions} on {where}",
                    "ru": "{count:plural:проверяется #\u00a0работа|проверяются #\u00a0работы|проверяется "
                          "#\u00a0работ} на {where}"},
    "cli.local_cluster": {"en": "a local Dask cluster of {count:plural:# worker|# workers}",
                          "ru": "локальном кластере Dask ({count:plural:#\u00a0исполнитель|#\u00a0исполнителя|"
                                "#\u00a0исполнителей})"},
    "cli.dashboard": {"en": "dashboard: {link}", "ru": "панель мониторинга: {link}"},
    "cli.exporting": {"en": "writing grades.csv with nbgrader…", "ru": "nbgrader записывает grades.csv…"},
    "cli.not_graded": {"en": "{submission}: not graded: {reason}", "ru": "{submission}: не проверена: {reason}"},
    "cli.table_header": {"en": "student|lesson|score|notes", "ru": "студент|занятие|баллы|примечания"},
    # --- errors (one line each) ---
    "cli.solve_failed": {"en": "autograder solve: {error}", "ru": "autograder solve: {error}"},
    "cli.failed": {"en": "python -m autograder {command}: {error}", "ru": "python -m autograder {command}: {error}"},
    "cli.no_solutions": {
        "en": "the reference solutions are not here ({path} is missing): run this from a checkout of the course "
              "repository installed with pip install -e . (a wheel, as on a hub's shared environment, has none)",
        "ru": "эталонных решений здесь нет ({path} отсутствует): запустите команду из рабочей копии репозитория курса, "
              "установленной командой pip install -e . (в пакете wheel, как в общем окружении хаба, решений нет)",
    },
    "cli.not_demo": {"en": "{out} exists and is not a demo course; choose another --out",
                     "ru": "{out} уже существует и не является демонстрационным курсом; укажите другую папку в --out"},
    "cli.scheduler_not_tls": {
        "en": "the Dask scheduler {address} is not a tls:// address: over plain TCP anyone who can reach it runs "
              "code as the grader on every worker. Start the cluster with TLS certificates (README: Grading on a "
              "cluster) and pass --scheduler tls://HOST:PORT --tls-ca-file --tls-cert --tls-key",
        "ru": "адрес планировщика Dask {address} не начинается с tls://: по обычному TCP любой, кто может к нему "
              "подключиться, выполнит код от имени проверяющего процесса на каждом исполнителе. Запустите кластер с "
              "сертификатами TLS (README, раздел «Grading on a cluster») и укажите --scheduler tls://HOST:PORT "
              "--tls-ca-file --tls-cert --tls-key",
    },
    "cli.scheduler_unreachable": {"en": "cannot reach the Dask scheduler at {address}: {error}",
                                  "ru": "не удаётся связаться с планировщиком Dask по адресу {address}: {error}"},
    "cli.tls_files_missing": {
        "en": "--scheduler {address} needs this grader's TLS files: {missing} (README: Grading on a cluster)",
        "ru": "для --scheduler {address} нужны файлы TLS этого проверяющего процесса: {missing} (README, раздел "
              "«Grading on a cluster»)",
    },
    "cli.worker_version": {
        "en": "Dask worker {address} runs autograder {theirs}, this grader {ours}: install the same version of the "
              "project on every worker",
        "ru": "на исполнителе Dask {address} установлен autograder {theirs}, а у проверяющего процесса\u00a0— {ours}: "
              "установите одну и ту же версию проекта на всех исполнителях",
    },
    "cli.worker_sandbox": {"en": "Dask worker {address}: {reason}", "ru": "исполнитель Dask {address}: {reason}"},
    "cli.no_group": {"en": "there is no group {group!r} on this machine (create it, e.g. sudo groupadd {group})",
                     "ru": "на этой машине нет группы {group!r} (создайте её, например: sudo groupadd {group})"},
    "cli.not_in_group": {
        "en": "you are not a member of the group {group!r} (sudo usermod -aG {group} $USER, then log in again)",
        "ru": "вы не входите в группу {group!r} (sudo usermod -aG {group} $USER, затем войдите в систему заново)",
    },
    "cli.exchange_link": {"en": "{path} is a link: someone else set it up; remove it first",
                          "ru": "{path}\u00a0— ссылка: её создал кто-то другой; сначала удалите её"},
    "cli.exchange_foreign": {
        "en": "{path} belongs to someone else, who may have made it to receive the students' work: remove it (as "
              "its owner or root) and build the course again",
        "ru": "{path} принадлежит другому пользователю, который мог создать эту папку, чтобы получать работы "
              "студентов: удалите её (от имени владельца или root) и создайте курс заново",
    },
    "cli.certificates_not_empty": {
        "en": "{folder} is not empty: choose a new folder (existing keys are never overwritten)",
        "ru": "папка {folder} не пуста: выберите новую (существующие ключи никогда не перезаписываются)",
    },
    "cli.bad_course_id": {
        "en": "course id {course_id!r} cannot be a folder name in nbgrader's exchange: use up to 64 letters, "
              "digits, '.', '_' and '-', starting with a letter or a digit",
        "ru": "идентификатор курса {course_id!r} не может служить именем папки в папке обмена nbgrader: используйте не "
              "более 64 латинских букв, цифр и символов '.', '_', '-'; первый символ\u00a0— буква или цифра",
    },
    "cli.unknown_penalty": {"en": "unknown late penalty {value!r}: choose one of {choices}",
                            "ru": "неизвестный штраф за опоздание {value!r}; допустимые значения: {choices}"},
    "cli.exchange_not_folder": {"en": "the exchange {path} exists and is not a folder",
                                "ru": "путь {path}, указанный как папка обмена, уже существует, но это не папка"},
    "cli.target_not_empty": {"en": "{path} already exists and is not empty; choose a new folder",
                             "ru": "папка {path} уже существует и не пуста; выберите новую"},
    "cli.not_a_course": {
        "en": "{path} is not a course (no {marker}); create one with: python -m autograder course DIR",
        "ru": "{path}\u00a0— не курс (нет файла {marker}); создайте курс командой python -m autograder course DIR",
    },
    "cli.no_submissions": {
        "en": "no submissions in {path} (expected submitted/<student>/<lesson>/)",
        "ru": "в {path} нет работ (ожидаются папки вида submitted/<student>/<lesson>/)",
    },
    "cli.nbgrader_failed": {"en": "nbgrader {command} failed: {cause}",
                            "ru": "команда nbgrader {command} завершилась с ошибкой: {cause}"},
    "cli.gradebook_busy": {
        "en": "the gradebook of {root} is being written by another grader (grade or serve); try again when it is done",
        "ru": "в журнал оценок курса {root} сейчас пишет другой проверяющий процесс (grade или serve); повторите "
              "попытку, когда он закончит",
    },
    # --- why a task came back without an outcome ---
    "cli.worker_lost": {
        "en": "the worker grading it was lost {times:plural:# time|# times} (killed, out of memory or machine gone)",
        "ru": "исполнитель, проверявший работу, потерян {times:plural:#\u00a0раз|#\u00a0раза|#\u00a0раз} "
              "(принудительное завершение, нехватка памяти или отключение машины)",
    },
    "cli.task_cancelled": {"en": "the grading task was cancelled", "ru": "задача проверки отменена"},
    "cli.refused_submission": {"en": "Refused {folder}: {problem}", "ru": "Работа {folder} отклонена: {problem}"},
    "cli.submission_not_folder": {"en": "not a folder", "ru": "это не папка"},
    "cli.submission_foreign": {"en": "named after {student} but owned by {owner}",
                               "ru": "названа по имени студента {student}, но принадлежит пользователю {owner}"},
    "cli.submission_too_many": {"en": "more than {count:plural:# file|# files}",
                                "ru": "больше {count:plural:#\u00a0файла|#\u00a0файлов|#\u00a0файлов}"},
    "cli.not_collected": {"en": "Not collected from {folder}: {names}", "ru": "Из {folder} не собраны: {names}"},
    "cli.no_course_id": {"en": "No course id specified. Re-run with --course flag.",
                         "ru": "Не указан идентификатор курса. Запустите команду снова с параметром --course."},
    "cli.course_not_found": {"en": "Course not found: {path}", "ru": "Курс не найден: {path}"},
    "cli.sandbox_unavailable": {"en": "{reason}", "ru": "{reason}"},
    "cli.bwrap_missing": {
        "en": "bubblewrap (bwrap) is not installed: install it (Debian/Ubuntu: sudo apt-get install bubblewrap; "
              "Fedora: sudo dnf install bubblewrap; Arch: sudo pacman -S bubblewrap), or grade without a sandbox "
              "with --no-sandbox (learners' code then runs with your rights)",
        "ru": "bubblewrap (bwrap) не установлен: установите его (Debian/Ubuntu: sudo apt-get install bubblewrap; "
              "Fedora: sudo dnf install bubblewrap; Arch: sudo pacman -S bubblewrap) или проверяйте работы без "
              "песочницы, с параметром --no-sandbox (тогда код студентов выполняется с вашими правами)",
    },
    "cli.bwrap_failed": {
        "en": "bubblewrap cannot create a sandbox here ({why}): enable unprivileged user namespaces (sysctl "
              "kernel.unprivileged_userns_clone=1, or the AppArmor profile for bwrap), or grade without a sandbox "
              "with --no-sandbox",
        "ru": "bubblewrap не может создать здесь песочницу ({why}): разрешите непривилегированные пространства имён "
              "пользователей (sysctl kernel.unprivileged_userns_clone=1 или профиль AppArmor для bwrap) или проверяйте "
              "работы без песочницы, с параметром --no-sandbox",
    },
    # --- grading on submit: the service's console and status, the policy's errors ---
    "cli.help.serve": {"en": "grade every submission as it arrives and hand its feedback back at once",
                       "ru": "проверять каждую работу сразу после сдачи и тут же возвращать обратную связь"},
    "cli.help.serve.poll": {"en": "seconds between looks at the exchange (default 2)",
                            "ru": "интервал опроса папки обмена в секундах (по умолчанию 2)"},
    "cli.help.status": {"en": "the grading service's state: queue, last graded, failures",
                        "ru": "состояние службы проверки: очередь, последняя проверенная работа, сбои"},
    "cli.service.started": {"en": "grading {course_id} as students submit (Ctrl-C stops; the queue is kept)",
                            "ru": "работы курса {course_id} проверяются по мере сдачи (Ctrl-C\u00a0— остановить; "
                                  "очередь сохранится)"},
    "cli.service.no_exchange": {
        "en": "the course {root} has no exchange: build it with --exchange to grade on submit",
        "ru": "у курса {root} нет папки обмена: чтобы проверять работы при сдаче, создайте курс с параметром "
              "--exchange",
    },
    "cli.service.received": {"en": "received {submission} (submitted {time})",
                             "ru": "получена работа {submission} (сдана {time})"},
    "cli.service.rejected": {"en": "rejected {submission}: {reason}", "ru": "отклонена работа {submission}: {reason}"},
    "cli.service.grading": {"en": "grading {submission}", "ru": "проверяется работа {submission}"},
    "cli.service.recovered": {"en": "grading {submission} again after a restart",
                              "ru": "работа {submission} проверяется заново после перезапуска"},
    "cli.service.graded": {"en": "graded {submission}: {score} points; feedback released",
                           "ru": "проверена работа {submission}, баллы: {score}; обратная связь выдана"},
    "cli.service.not_graded_event": {"en": "not graded {submission}: {reason}",
                                     "ru": "не проверена работа {submission}: {reason}"},
    "cli.service.no_status": {"en": "no grading service has run for {root}",
                              "ru": "для {root} служба проверки ещё не запускалась"},
    "cli.service.status": {
        "en": "at {updated}: {waiting:n} waiting, {grading:n} being graded, oldest waiting {oldest:n} s; "
              "{graded:n} graded",
        "ru": "на {updated}: в очереди {waiting:n}, на проверке {grading:n}, самое долгое ожидание {oldest:n}\u00a0с; "
              "проверено {graded:n}",
    },
    "cli.service.last": {"en": "last graded: {submission} at {at}, {score} points",
                         "ru": "последняя проверенная работа: {submission} ({at}), баллы: {score}"},
    "cli.service.problem": {"en": "not graded: {submission}: {reason}",
                            "ru": "не проверена работа {submission}: {reason}"},
    "cli.policy_unknown": {"en": "course.json, on_submit, {where}: unknown setting {name!r}",
                           "ru": "course.json, on_submit, {where}: неизвестный параметр {name!r}"},
    "cli.policy_choice": {"en": "course.json, on_submit, {where}: {name} must be one of {choices}",
                          "ru": "course.json, on_submit, {where}: значение {name} должно быть одним из: {choices}"},
    "cli.policy_number": {"en": "course.json, on_submit, {where}: {name} must be a whole number of at least 1",
                          "ru": "course.json, on_submit, {where}: значение {name} должно быть целым "
                                "числом не меньше 1"},
    "cli.policy_lesson": {"en": "course.json, on_submit: no such lesson: {names}",
                          "ru": "course.json, on_submit: таких занятий нет: {names}"},
}
